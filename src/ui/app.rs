//! The root component: the start step (drop zone and file pickers).

use yew::prelude::*;

/// Properties of [`App`].
#[derive(Properties, PartialEq, Clone)]
pub struct AppProps {}

/// The widget's root component.
#[function_component(App)]
pub fn app(_props: &AppProps) -> Html {
    html! {
        <section class="aul-root" aria-label="DICOM upload">
            <div class="aul-dropzone" tabindex="0" role="region" aria-describedby="aul-drop-help">
                <h2 class="aul-title">{ "Upload imaging studies" }</h2>
                <p id="aul-drop-help" class="aul-help">
                    { "Drop the files or folders from your imaging CD here." }
                </p>
            </div>
            <div class="aul-live" aria-live="polite"></div>
        </section>
    }
}
