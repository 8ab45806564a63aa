#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pocketftpd::http::fuzzing::head(data));
