#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pocketftp_core::fuzzing::proxy(data));
