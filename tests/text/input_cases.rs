//! Reading input: each way an input can be unusable gives its own error.

use std::io::Write;

use saar::text::{read_input, read_input_from, validate_input, InputError, MAX_INPUT_BYTES};

fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(bytes).expect("write");
    file
}

#[test]
fn reads_a_file_and_strips_the_byte_order_mark() {
    let file = file_with("\u{FEFF}समाचार का पाठ।\n".as_bytes());
    assert_eq!(
        read_input(file.path()).expect("readable"),
        "समाचार का पाठ।\n"
    );
}

#[test]
fn a_missing_file_is_named() {
    let error = read_input("/no/such/dir/article.txt").expect_err("missing");
    assert!(matches!(error, InputError::NotFound { .. }));
    assert!(
        error.to_string().contains("/no/such/dir/article.txt"),
        "{error}"
    );
}

#[test]
fn a_directory_is_named_as_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = read_input(dir.path()).unwrap_err();
    assert!(matches!(err, InputError::IsDirectory { .. }), "{err}");
    assert!(err.to_string().contains("saar batch"), "{err}");
}

#[test]
fn empty_and_whitespace_only_inputs_are_refused() {
    for bytes in [&b""[..], b"  \n\t\n", "\u{FEFF}\u{200B} \n".as_bytes()] {
        assert!(
            matches!(
                validate_input(bytes.to_vec(), "test"),
                Err(InputError::Empty { .. })
            ),
            "{bytes:?}"
        );
    }
}

#[test]
fn invalid_utf8_reports_the_byte_offset() {
    let mut bytes = "नमस्ते".as_bytes().to_vec();
    let offset = bytes.len();
    bytes.extend_from_slice(&[0xE0, 0x41, b' ', b'x']);
    let error = validate_input(bytes, "test").expect_err("invalid");
    assert!(
        matches!(error, InputError::InvalidUtf8 { offset: o, .. } if o == offset),
        "{error:?}"
    );
    assert!(error.to_string().contains(&format!("offset {offset}")));
}

#[test]
fn binary_data_is_refused() {
    let nul = validate_input(b"text\0more".to_vec(), "test").expect_err("NUL");
    assert!(matches!(nul, InputError::Binary { .. }));
    assert!(nul.to_string().contains("offset 4"));
    let controls: Vec<u8> = b"ab\x01\x02\x03\x04\x05cd".to_vec();
    assert!(matches!(
        validate_input(controls, "test"),
        Err(InputError::Binary { .. })
    ));
    let one_escape = b"a normal line of text with one \x1b escape in it".to_vec();
    assert!(validate_input(one_escape, "test").is_ok());
}

#[test]
fn utf16_gets_its_own_advice() {
    let error = validate_input(vec![0xFF, 0xFE, b'a', 0], "test").expect_err("utf-16");
    assert!(matches!(error, InputError::Utf16 { .. }));
    assert!(error.to_string().contains("iconv"));
}

#[test]
fn oversized_input_is_refused_with_advice_to_split() {
    let error = read_input_from(std::io::repeat(b'a'), "stream").expect_err("too large");
    assert!(matches!(error, InputError::TooLarge { .. }));
    assert!(error.to_string().contains("split"), "{error}");
    assert!(validate_input(vec![b'a'; MAX_INPUT_BYTES], "test").is_ok());
}
