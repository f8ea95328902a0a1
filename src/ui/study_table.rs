//! The table of studies found, with a Remove button per study.

use std::rc::Rc;

use yew::prelude::*;

use super::state::StudyRow;
use super::strings::{bytes, fill, Strings};

/// Properties of [`StudyTable`].
#[derive(Properties, PartialEq, Clone)]
pub struct StudyTableProps {
    /// The widget's texts.
    pub strings: Rc<Strings>,
    /// The studies.
    pub studies: Vec<StudyRow>,
    /// Receives the Study Instance UID of a removed study.
    pub on_remove: Callback<String>,
}

/// One row per study: patient, birth date, study date, description,
/// modalities, series, images, size. Patient data is rendered as text,
/// never as markup.
#[function_component(StudyTable)]
pub fn study_table(props: &StudyTableProps) -> Html {
    let s = &props.strings;
    html! {
        <div class="aul-table-wrap">
            <table class="aul-table">
                <caption>{ s.studies_caption.clone() }</caption>
                <thead>
                    <tr>
                        <th scope="col">{ s.col_patient.clone() }</th>
                        <th scope="col">{ s.col_birth_date.clone() }</th>
                        <th scope="col">{ s.col_study_date.clone() }</th>
                        <th scope="col">{ s.col_description.clone() }</th>
                        <th scope="col">{ s.col_modalities.clone() }</th>
                        <th scope="col" class="aul-num">{ s.col_series.clone() }</th>
                        <th scope="col" class="aul-num">{ s.col_images.clone() }</th>
                        <th scope="col" class="aul-num">{ s.col_size.clone() }</th>
                        <th scope="col" class="aul-action"><span class="aul-visually-hidden">{ s.col_actions.clone() }</span></th>
                    </tr>
                </thead>
                <tbody>
                    { for props.studies.iter().map(|row| {
                        let uid = row.uid.clone();
                        let remove = props.on_remove.reform(move |_: MouseEvent| uid.clone());
                        let label = fill(&s.remove_label, &[
                            ("description", &row.description),
                            ("date", &row.study_date),
                        ]);
                        html! {
                            <tr key={row.uid.clone()} data-study-uid={row.uid.clone()}>
                                <td class="aul-patient">{ row.patient_name.clone() }</td>
                                <td class="aul-date">{ row.birth_date.clone() }</td>
                                <td class="aul-date">{ row.study_date.clone() }</td>
                                <td>{ row.description.clone() }</td>
                                <td>{ row.modalities.join(", ") }</td>
                                <td class="aul-num">{ row.series }</td>
                                <td class="aul-num">{ row.images }</td>
                                <td class="aul-num">{ bytes(row.bytes) }</td>
                                <td class="aul-action">
                                    <button type="button" class="aul-button aul-small aul-remove"
                                        aria-label={label} onclick={remove}>
                                        { s.remove.clone() }
                                    </button>
                                </td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
        </div>
    }
}
