//! Random fault schedules against the tus client: the server ends with the
//! archive byte for byte, or the client reports a definite error; never
//! silent corruption, never an endless loop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod tus_support;

use proptest::collection::vec;
use proptest::prelude::*;
use tus_support::{config, Archive, Driver, End, Fault, TusServer};

/// Enough for the largest case: every fault costs a few requests.
const MAX_STEPS: usize = 3_000;

/// Faults a real network and a real server produce (not a server lying
/// about offsets, which no client can detect without checksums).
fn fault() -> impl Strategy<Value = Option<Fault>> {
    prop_oneof![
        24 => Just(None),
        3 => (0u16..=1000).prop_map(|keep_permille| Some(Fault::Drop { keep_permille })),
        3 => (0u16..=1000).prop_map(|keep_permille| Some(Fault::Stall { keep_permille })),
        3 => prop::sample::select(vec![500u16, 502, 503, 504, 423, 409, 404, 410])
            .prop_map(|status| Some(Fault::Status(status))),
        1 => prop::sample::select(vec![401u16, 403, 413, 400])
            .prop_map(|status| Some(Fault::Status(status))),
        2 => (0u64..4).prop_map(|retry_after_secs| Some(Fault::RateLimited { retry_after_secs })),
        2 => (0u64..4).prop_map(|retry_after_secs| Some(Fault::Unavailable { retry_after_secs })),
        3 => (1u64..6_000).prop_map(|n| Some(Fault::LoseTail(n))),
        2 => Just(Some(Fault::Expire)),
        1 => Just(Some(Fault::HideOffset)),
        2 => Just(Some(Fault::SwallowBody)),
    ]
}

/// Faults that cost at most one retry or one re-creation each.
fn transient_fault() -> impl Strategy<Value = Option<Fault>> {
    prop_oneof![
        6 => Just(None),
        1 => (0u16..=1000).prop_map(|keep_permille| Some(Fault::Drop { keep_permille })),
        1 => (0u16..=1000).prop_map(|keep_permille| Some(Fault::Stall { keep_permille })),
        1 => prop::sample::select(vec![500u16, 502, 503, 504, 423])
            .prop_map(|status| Some(Fault::Status(status))),
        1 => (0u64..4).prop_map(|retry_after_secs| Some(Fault::RateLimited { retry_after_secs })),
        1 => (1u64..6_000).prop_map(|n| Some(Fault::LoseTail(n))),
        1 => Just(Some(Fault::Expire)),
        1 => Just(Some(Fault::SwallowBody)),
    ]
}

struct Case {
    faults: Vec<Option<Fault>>,
    chunk: u64,
    files: usize,
    seed: u32,
    expiry: bool,
    relative: bool,
}

fn drive(case: Case) -> (Driver, End) {
    let mut server = TusServer::new().with_faults(case.faults);
    server.expiry_ms = case.expiry.then_some(600_000);
    server.relative_location = case.relative;
    let mut d = Driver::new(server, Archive::study(case.files, 3_000, case.seed));
    let mut upload = d.upload(config(case.chunk));
    let end = d.run(&mut upload, case.chunk, MAX_STEPS);
    // Never silent corruption: whatever the server holds complete is the
    // archive, whichever upload URL it is under.
    let expected = d.archive.bytes();
    for (url, stored) in &d.server.uploads {
        if stored.is_complete() && !stored.terminated {
            assert!(stored.data == expected, "{url} is complete but differs");
        }
        assert!(
            expected.starts_with(&stored.data),
            "{url} holds a wrong prefix"
        );
    }
    if let End::Completed(url) = &end {
        d.assert_stored_identical(url);
    }
    (d, end)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_faults_end_byte_identical_or_in_a_definite_error(
        faults in vec(fault(), 0..40),
        chunk in 300u64..6_000,
        files in 1usize..6,
        seed in any::<u32>(),
        expiry in any::<bool>(),
        relative in any::<bool>(),
    ) {
        let (d, end) = drive(Case { faults, chunk, files, seed, expiry, relative });
        match end {
            End::Completed(_) => {}
            End::Failed(error) => {
                let message = error.to_string();
                prop_assert!(!message.is_empty());
                prop_assert!(message.starts_with(|c: char| c.is_lowercase()), "{}", message);
            }
            End::Terminated { .. } => prop_assert!(false, "nobody cancelled"),
        }
        prop_assert!(d.steps <= MAX_STEPS);
    }

    #[test]
    fn three_transient_faults_never_stop_an_upload(
        faults in vec(transient_fault(), 0..30)
            .prop_filter("at most three faults", |f| f.iter().flatten().count() <= 3),
        chunk in 300u64..6_000,
        files in 1usize..6,
        seed in any::<u32>(),
        expiry in any::<bool>(),
    ) {
        let (_, end) = drive(Case { faults, chunk, files, seed, expiry, relative: false });
        prop_assert!(matches!(end, End::Completed(_)), "{:?}", end);
    }
}
