//! The TFTP parsers against hostile input: no panic on any bytes.

use ferric_bootnet::tftp::options::{Request, negotiate, parse_client, parse_request};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

    #[test]
    fn requests_never_panic(packet in proptest::collection::vec(any::<u8>(), 0..1200)) {
        if let Ok(Request::Read { options, .. }) = parse_request(&packet) {
            let (negotiated, _) = negotiate(&options, Some(u64::MAX));
            prop_assert!(negotiated.blksize >= 8 && negotiated.windowsize >= 1);
        }
        let _ = parse_client(&packet);
    }

    #[test]
    fn option_lists_never_panic(
        name in "[a-zA-Z./]{1,20}",
        options in proptest::collection::vec(("(?i)(blksize|tsize|timeout|windowsize|[a-z]{1,8})", "[0-9]{0,12}|[^\\x00]{0,8}"), 0..8),
    ) {
        let mut packet = vec![0u8, 1];
        packet.extend_from_slice(name.as_bytes());
        packet.push(0);
        packet.extend_from_slice(b"octet\0");
        for (option, value) in options {
            packet.extend_from_slice(option.as_bytes());
            packet.push(0);
            packet.extend_from_slice(value.as_bytes());
            packet.push(0);
        }
        if let Ok(Request::Read { options, .. }) = parse_request(&packet) {
            let (negotiated, _) = negotiate(&options, Some(1));
            prop_assert!(negotiated.blksize >= 8 && negotiated.blksize <= 65464);
        }
    }
}
