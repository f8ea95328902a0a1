//! Patient checks of the scan, shown on the review step.

use std::rc::Rc;

use auraloader_core::patient::{PatientField, PatientWarning};
use yew::prelude::*;

use super::strings::{fill, Strings};

/// Properties of [`PatientWarnings`].
#[derive(Properties, PartialEq, Clone)]
pub struct PatientWarningsProps {
    /// The widget's texts.
    pub strings: Rc<Strings>,
    /// The warnings; nothing is rendered without any.
    pub warnings: Vec<PatientWarning>,
}

/// A highlighted list of the patient warnings.
#[function_component(PatientWarnings)]
pub fn patient_warnings(props: &PatientWarningsProps) -> Html {
    if props.warnings.is_empty() {
        return html! {};
    }
    let strings = &props.strings;
    html! {
        <div class="aul-warnings" role="note">
            <h3>{ strings.warnings_title.clone() }</h3>
            <ul>
                { for props.warnings.iter().map(|w| html! { <li>{ warning_text(strings, w) }</li> }) }
            </ul>
        </div>
    }
}

/// The sentence of a warning, in the widget's strings.
pub fn warning_text(strings: &Strings, warning: &PatientWarning) -> String {
    match warning {
        PatientWarning::SeveralPatients { studies_by_patient } => fill(
            &strings.warning_several_patients,
            &[("count", &studies_by_patient.len().to_string())],
        ),
        PatientWarning::ContextMismatch { study_uids, fields } => {
            let fields: Vec<&str> = fields
                .iter()
                .map(|f| match f {
                    PatientField::Name => strings.field_name.as_str(),
                    PatientField::DateOfBirth => strings.field_date_of_birth.as_str(),
                    PatientField::Sex => strings.field_sex.as_str(),
                })
                .collect();
            fill(
                &strings.warning_context_mismatch,
                &[
                    ("count", &study_uids.len().to_string()),
                    ("fields", &fields.join(", ")),
                ],
            )
        }
        // A kind this build does not know: core's own sentence (no patient data).
        other => other.to_string(),
    }
}
