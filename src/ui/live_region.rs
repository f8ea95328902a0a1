//! The `aria-live` region: step changes and errors, announced by screen readers.

use yew::prelude::*;

/// Properties of [`LiveRegion`].
#[derive(Properties, PartialEq, Clone)]
pub struct LiveRegionProps {
    /// What to announce; a change is read out.
    pub text: AttrValue,
}

/// A visually hidden polite live region, present from the first render so
/// that later changes are announced.
#[function_component(LiveRegion)]
pub fn live_region(props: &LiveRegionProps) -> Html {
    html! {
        <div class="aul-visually-hidden aul-live" role="status" aria-live="polite" aria-atomic="true">
            { props.text.clone() }
        </div>
    }
}
