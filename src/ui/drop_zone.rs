//! The start step: a drop zone for files and folders, and buttons that open
//! the file and folder pickers.

use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::command::{Command, FileSource};
use super::strings::Strings;
use crate::browser::files::{entries_of_drop, files_of_list};

/// Properties of [`DropZone`].
#[derive(Properties, PartialEq, Clone)]
pub struct DropZoneProps {
    /// The widget's texts.
    pub strings: Rc<Strings>,
    /// Receives the dropped or picked files.
    pub on_command: Callback<Command>,
    /// Focus target of the step's heading.
    pub heading: NodeRef,
}

/// The drop zone and the two pickers.
#[function_component(DropZone)]
pub fn drop_zone(props: &DropZoneProps) -> Html {
    let over = use_state(|| false);
    let files_input = use_node_ref();
    let folder_input = use_node_ref();
    let strings = &props.strings;

    let ondragover = {
        let over = over.clone();
        Callback::from(move |event: DragEvent| {
            event.prevent_default();
            if let Some(transfer) = event.data_transfer() {
                transfer.set_drop_effect("copy");
            }
            if !*over {
                over.set(true);
            }
        })
    };
    // dragenter/dragleave also fire for the zone's children: count them so
    // the highlight does not flicker while the pointer crosses the text.
    let depth = use_mut_ref(|| 0u32);
    let ondragenter = {
        let (over, depth) = (over.clone(), depth.clone());
        Callback::from(move |event: DragEvent| {
            event.prevent_default();
            *depth.borrow_mut() += 1;
            over.set(true);
        })
    };
    let ondragleave = {
        let (over, depth) = (over.clone(), depth.clone());
        Callback::from(move |_: DragEvent| {
            let mut depth = depth.borrow_mut();
            *depth = depth.saturating_sub(1);
            if *depth == 0 {
                over.set(false);
            }
        })
    };
    let ondrop = {
        let (over, depth) = (over.clone(), depth.clone());
        let on_command = props.on_command.clone();
        Callback::from(move |event: DragEvent| {
            event.prevent_default();
            *depth.borrow_mut() = 0;
            over.set(false);
            let Some(transfer) = event.data_transfer() else {
                return;
            };
            let (entries, files) = entries_of_drop(&transfer);
            let source = FileSource::Dropped { entries, files };
            on_command.emit(Command::AddFiles(source));
        })
    };
    let open = |input: NodeRef| {
        Callback::from(move |_: MouseEvent| {
            if let Some(input) = input.cast::<HtmlInputElement>() {
                input.click();
            }
        })
    };
    let picked = {
        let on_command = props.on_command.clone();
        Callback::from(move |event: Event| {
            let Some(input) = event.target_dyn_into::<HtmlInputElement>() else {
                return;
            };
            let files = files_of_list(input.files());
            // Lets the same selection be picked again later.
            input.set_value("");
            if !files.is_empty() {
                on_command.emit(Command::AddFiles(FileSource::Files(files)));
            }
        })
    };

    html! {
        <div class="aul-dropzone" data-over={if *over { "true" } else { "false" }}
            {ondragenter} {ondragover} {ondragleave} {ondrop}>
            <h2 tabindex="-1" ref={props.heading.clone()}>{ strings.title.clone() }</h2>
            <p class="aul-muted">{ strings.drop_help.clone() }</p>
            <div class="aul-actions">
                <button type="button" class="aul-button aul-primary" onclick={open(files_input.clone())}>
                    { strings.choose_files.clone() }
                </button>
                <button type="button" class="aul-button" onclick={open(folder_input.clone())}>
                    { strings.choose_folder.clone() }
                </button>
            </div>
            <input type="file" multiple=true hidden=true
                class="aul-input-files" ref={files_input} onchange={picked.clone()} />
            <input type="file" multiple=true hidden=true
                webkitdirectory=true class="aul-input-folder" ref={folder_input} onchange={picked} />
        </div>
    }
}
