//! Every text the widget shows, overridable through the `strings` option
//! (English by default), and the formatting of sizes, speeds and durations.
//!
//! Texts with `{name}` placeholders are filled by [`fill`]; a host page's
//! override may drop or reorder placeholders.

use serde::{Deserialize, Serialize};

/// The widget's texts. Each field is a key of the `strings` option
/// (camelCase); keys left out keep their English default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Strings {
    /// Accessible name of the widget's region.
    pub region_label: String,
    /// Heading of the start step.
    pub title: String,
    /// Text of the drop zone.
    pub drop_help: String,
    /// Button that opens the file picker.
    pub choose_files: String,
    /// Button that opens the folder picker.
    pub choose_folder: String,
    /// Heading while files are read.
    pub processing_title: String,
    /// Progress of the scan: `{scanned}`, `{total}`, `{skipped}`.
    pub processing_count: String,
    /// Label of the scan's progress bar.
    pub processing_progress: String,
    /// Heading of the review step: `{count}` studies.
    pub pending_title: String,
    /// Shown when no study was found.
    pub no_studies: String,
    /// Caption of the studies table.
    pub studies_caption: String,
    /// Column: patient.
    pub col_patient: String,
    /// Column: birth date.
    pub col_birth_date: String,
    /// Column: study date.
    pub col_study_date: String,
    /// Column: description.
    pub col_description: String,
    /// Column: modalities.
    pub col_modalities: String,
    /// Column: series.
    pub col_series: String,
    /// Column: images.
    pub col_images: String,
    /// Column: size.
    pub col_size: String,
    /// Column: the remove buttons.
    pub col_actions: String,
    /// Remove button.
    pub remove: String,
    /// Accessible name of a remove button: `{description}`, `{date}`.
    pub remove_label: String,
    /// Summary of the skipped files: `{count}`.
    pub skipped_summary: String,
    /// Heading of the patient warnings.
    pub warnings_title: String,
    /// Warning: several patients, `{count}`.
    pub warning_several_patients: String,
    /// Warning: studies not matching the page's patient, `{count}`, `{fields}`.
    pub warning_context_mismatch: String,
    /// Field name in a mismatch warning.
    pub field_name: String,
    /// Field name in a mismatch warning.
    pub field_date_of_birth: String,
    /// Field name in a mismatch warning.
    pub field_sex: String,
    /// Upload button.
    pub upload: String,
    /// Cancel button.
    pub cancel: String,
    /// Heading while uploading.
    pub uploading_title: String,
    /// Label of the overall progress bar.
    pub overall_progress: String,
    /// Label of a study's progress bar: `{description}`.
    pub study_progress: String,
    /// Bytes sent: `{sent}`, `{total}`.
    pub bytes_sent: String,
    /// Speed: `{speed}` (already with its unit).
    pub speed: String,
    /// Time left: `{time}`.
    pub time_left: String,
    /// Connection lost: `{seconds}`.
    pub retrying: String,
    /// A study waiting its turn.
    pub study_waiting: String,
    /// A study being sent.
    pub study_sending: String,
    /// A study whose zip is being prepared.
    pub study_preparing: String,
    /// A study uploaded.
    pub study_done: String,
    /// A study that failed.
    pub study_failed: String,
    /// Heading of the complete step.
    pub complete_title: String,
    /// Text of the complete step: `{count}`.
    pub complete_text: String,
    /// Button after completion.
    pub upload_more: String,
    /// Heading of the error step.
    pub error_title: String,
    /// Shown under the message when the server refused the upload token or
    /// the tus lift token (`auth_failed`): what the user can do.
    pub error_auth_hint: String,
    /// Retry button.
    pub retry: String,
    /// Start-over button.
    pub start_over: String,
    /// Heading of the cancelled step.
    pub cancelled_title: String,
    /// Text of the cancelled step.
    pub cancelled_text: String,
}

impl Default for Strings {
    fn default() -> Self {
        let s = |text: &str| text.to_owned();
        Self {
            region_label: s("DICOM upload"),
            title: s("Upload imaging studies"),
            drop_help: s("Drop the files or folders from your imaging CD here, or choose them."),
            choose_files: s("Choose files"),
            choose_folder: s("Choose folder"),
            processing_title: s("Reading files…"),
            processing_count: s("{scanned} of {total} files read, {skipped} skipped"),
            processing_progress: s("Looking for imaging studies"),
            pending_title: s("Studies found: {count}"),
            no_studies: s("No imaging studies were found in these files."),
            studies_caption: s("Studies to upload"),
            col_patient: s("Patient"),
            col_birth_date: s("Birth date"),
            col_study_date: s("Study date"),
            col_description: s("Description"),
            col_modalities: s("Modalities"),
            col_series: s("Series"),
            col_images: s("Images"),
            col_size: s("Size"),
            col_actions: s("Actions"),
            remove: s("Remove"),
            remove_label: s("Remove study {description} of {date}"),
            skipped_summary: s("Files not uploaded: {count}"),
            warnings_title: s("Please check before uploading"),
            warning_several_patients: s(
                "These studies belong to {count} different patients. Remove the studies of other patients before uploading.",
            ),
            warning_context_mismatch: s(
                "{count} studies do not match this patient ({fields}). Check that these are the right images.",
            ),
            field_name: s("name"),
            field_date_of_birth: s("date of birth"),
            field_sex: s("sex"),
            upload: s("Upload"),
            cancel: s("Cancel"),
            uploading_title: s("Uploading…"),
            overall_progress: s("Overall progress"),
            study_progress: s("Progress of {description}"),
            bytes_sent: s("{sent} of {total} sent"),
            speed: s("{speed}/s"),
            time_left: s("about {time} left"),
            retrying: s("Connection lost, retrying in {seconds} s"),
            study_waiting: s("waiting"),
            study_sending: s("sending"),
            study_preparing: s("preparing"),
            study_done: s("done"),
            study_failed: s("failed"),
            complete_title: s("Upload complete"),
            complete_text: s("Studies uploaded: {count}."),
            upload_more: s("Upload more"),
            error_title: s("Upload failed"),
            error_auth_hint: s("Your upload permission has expired or is not valid. Reload the page and add the same files again: what was already sent is not sent again."),
            retry: s("Retry"),
            start_over: s("Start over"),
            cancelled_title: s("Upload cancelled"),
            cancelled_text: s("Nothing more will be sent."),
        }
    }
}

/// `template` with each `{name}` replaced by its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut text = template.to_owned();
    for (name, value) in values {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}

/// A byte count for people: `512 B`, `1.5 KB`, `12.3 MB`, `1.02 GB` (SI units).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut value = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = u;
    }
    if value < 10.0 {
        format!("{value:.2} {unit}")
    } else if value < 100.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

/// A duration for people: `45 s`, `3 min 20 s`, `2 h 5 min`.
pub fn duration(seconds: f64) -> String {
    let total = if seconds.is_finite() && seconds > 0.0 {
        seconds.ceil() as u64
    } else {
        0
    };
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min {s} s")
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_placeholders_in_any_order() {
        assert_eq!(
            fill("{b} then {a}, {a}", &[("a", "1"), ("b", "2")]),
            "2 then 1, 1"
        );
        assert_eq!(fill("no placeholders", &[("a", "1")]), "no placeholders");
    }

    #[test]
    fn partial_overrides_keep_the_other_defaults() {
        let strings: Strings =
            serde_json::from_str(r#"{"title":"Bilder hochladen","upload":"Hochladen"}"#).unwrap();
        assert_eq!(strings.title, "Bilder hochladen");
        assert_eq!(strings.upload, "Hochladen");
        assert_eq!(strings.cancel, Strings::default().cancel);
    }

    #[test]
    fn formats_sizes_and_durations() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1500), "1.50 KB");
        assert_eq!(bytes(12_345_678), "12.3 MB");
        assert_eq!(bytes(250_000_000), "250 MB");
        assert_eq!(bytes(1_020_000_000), "1.02 GB");
        assert_eq!(duration(44.2), "45 s");
        assert_eq!(duration(200.0), "3 min 20 s");
        assert_eq!(duration(7500.0), "2 h 5 min");
        assert_eq!(duration(f64::NAN), "0 s");
    }

    #[test]
    fn the_typescript_strings_name_every_key_and_no_other() {
        let dts = include_str!("../../www/js/index.d.ts");
        let block = dts
            .split("export interface AuraloaderStrings {")
            .nth(1)
            .and_then(|rest| rest.split("\n}").next())
            .expect("index.d.ts declares AuraloaderStrings");
        let mut typed: Vec<String> = block
            .lines()
            .filter_map(|line| line.trim().strip_suffix(": string;"))
            .map(str::to_owned)
            .collect();
        let value = serde_json::to_value(Strings::default()).unwrap();
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        typed.sort();
        keys.sort();
        assert_eq!(typed, keys);
    }
}
