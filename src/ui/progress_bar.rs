//! A labelled progress bar with `role="progressbar"` and its values.

use yew::prelude::*;

/// Properties of [`ProgressBar`].
#[derive(Properties, PartialEq, Clone)]
pub struct ProgressBarProps {
    /// Accessible name and visible label.
    pub label: AttrValue,
    /// Progress so far, in any unit.
    pub value: u64,
    /// The end, in the same unit.
    pub max: u64,
    /// Visible text beside the label and the bar's `aria-valuetext`.
    #[prop_or_default]
    pub text: AttrValue,
}

/// A progress bar: the value is exposed as a percentage (0–100) with the
/// human text as `aria-valuetext`.
#[function_component(ProgressBar)]
pub fn progress_bar(props: &ProgressBarProps) -> Html {
    let percent = percent(props.value, props.max);
    let id = use_memo((), |_| next_id());
    let label_id = format!("aul-progress-{id}");
    html! {
        <div class="aul-progress">
            <div class="aul-progress-label">
                <span id={label_id.clone()}>{ props.label.clone() }</span>
                <span class="aul-muted">{ props.text.clone() }</span>
            </div>
            <div class="aul-bar" role="progressbar" aria-labelledby={label_id}
                aria-valuemin="0" aria-valuemax="100" aria-valuenow={percent.to_string()}
                aria-valuetext={if props.text.is_empty() { None } else { Some(props.text.clone()) }}>
                <div class="aul-bar-fill" style={format!("width: {percent}%")}></div>
            </div>
        </div>
    }
}

/// `value / max` in whole percent, 0 when `max` is 0, at most 100.
pub fn percent(value: u64, max: u64) -> u64 {
    if max == 0 {
        return 0;
    }
    ((value.min(max) as f64 / max as f64) * 100.0).floor() as u64
}

/// A number unique within the page, for element ids.
fn next_id() -> u64 {
    thread_local! {
        static NEXT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }
    NEXT.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    })
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn percent_is_bounded_and_safe_for_zero() {
        assert_eq!(percent(0, 0), 0);
        assert_eq!(percent(50, 200), 25);
        assert_eq!(percent(300, 200), 100);
        assert_eq!(percent(199, 200), 99);
    }
}
