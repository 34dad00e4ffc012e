//! Tests of the [`Data`] tree against `serde_json`.

use super::serde_impls::{ITEMS, MEMBERS};
use super::*;
use serde_json::Value;
use serde_json::json;

const SAMPLES: &[&str] = &[
    "null",
    "true",
    "[]",
    "{}",
    r#"{"a":1,"b":-2,"c":1.5,"d":1e300,"e":-0.0,"f":18446744073709551615,"g":-9223372036854775808}"#,
    r#"{"s":"plain","t":"quote \" and \\ back","u":"\u0001\u001f\n\t","v":"é😀</","w":"\ud83d\ude00"}"#,
    r#"{"nested":{"list":[{"x":null},[],[[1,2],[3]],{"y":{"z":[true,false]}}]}}"#,
    r#"{"long":"a string that is longer than twenty-four bytes, on the heap"}"#,
    r#"[1,"two",{"three":3},[4],null]"#,
];

#[test]
fn parses_and_writes_what_serde_json_does() {
    for text in SAMPLES {
        let value: Value = serde_json::from_str(text).unwrap();
        let data = Data::from_slice(text.as_bytes()).unwrap();
        assert_eq!(data, value, "{text}");
        assert_eq!(
            data.to_json(),
            serde_json::to_vec(&value).unwrap(),
            "{text}"
        );
        assert_eq!(serde_json::to_vec(&data).unwrap(), data.to_json(), "{text}");
        assert_eq!(Value::from(data.clone()), value, "{text}");
        assert_eq!(Value::from(&data), value, "{text}");
        assert_eq!(Data::from(value.clone()), data, "{text}");
        assert_eq!(Data::from(&value), data, "{text}");
    }
}

#[test]
fn repeated_keys_keep_the_first_place_and_the_last_value() {
    let text = r#"{"a":1,"b":2,"a":3}"#;
    let value: Value = serde_json::from_str(text).unwrap();
    let data = Data::from_slice(text.as_bytes()).unwrap();
    assert_eq!(data, value);
    assert_eq!(data.to_json(), br#"{"a":3,"b":2}"#);
    // Past the linear check too.
    let mut many: Vec<String> = (0..40).map(|i| format!(r#""k{i}":{i}"#)).collect();
    many.push(r#""k3":"again""#.into());
    many.push(r#""k39":"last""#.into());
    let text = format!("{{{}}}", many.join(","));
    let value: Value = serde_json::from_str(&text).unwrap();
    let data = Data::from_slice(text.as_bytes()).unwrap();
    assert_eq!(data, value);
    assert_eq!(data.to_json(), serde_json::to_vec(&value).unwrap());
}

#[test]
fn invalid_json_is_an_error_and_the_parse_stacks_recover() {
    for bad in [
        "{",
        r#"{"a":}"#,
        "[1,2",
        r#"{"a":[1,{"b":"#,
        "\"\\x\"",
        "01",
        "{\"a\":1}x",
    ] {
        assert!(Data::from_slice(bad.as_bytes()).is_err(), "{bad}");
    }
    assert_eq!(MEMBERS.with_borrow(Vec::len), 0);
    assert_eq!(ITEMS.with_borrow(Vec::len), 0);
    let deep = "[".repeat(200) + &"]".repeat(200);
    assert!(Data::from_slice(deep.as_bytes()).is_err(), "nesting limit");
    assert_eq!(ITEMS.with_borrow(Vec::len), 0);
    assert_eq!(
        Data::from_slice(br#"{"ok":[1]}"#).unwrap(),
        json!({"ok": [1]})
    );
}

#[test]
fn objects_insert_remove_and_keep_order() {
    let mut object = Object::new();
    assert_eq!(object.insert("b", Data::Null), None);
    object.insert("a", Data::Bool(true));
    assert_eq!(object.insert("b", Data::from("x")), Some(Data::Null));
    assert_eq!(object.keys().collect::<Vec<_>>(), ["b", "a"]);
    assert_eq!(object.remove("b"), Some(Data::from("x")));
    assert_eq!(object.remove("b"), None);
    assert!(object.contains_key("a"));
    assert_eq!(object.len(), 1);
    let collected: Object = [("x", Data::Null), ("y", Data::Null), ("x", Data::from("z"))]
        .into_iter()
        .collect();
    assert_eq!(Data::Object(collected).to_json(), br#"{"x":"z","y":null}"#);
}

#[test]
fn a_value_is_three_words_and_a_member_six() {
    assert_eq!(size_of::<Data>(), 24);
    assert_eq!(size_of::<(Str, Data)>(), 48);
    assert_eq!(size_of::<Object>(), 16);
}

#[test]
fn members_merge_extend_and_collect_as_inserts_do() {
    // Many members: the collected object checks duplicates with a hash set.
    let many: Object = (0..40)
        .map(|i| (format!("k{}", i % 35), Data::from(i.to_string().as_str())))
        .collect();
    let mut by_insert = Object::new();
    for i in 0..40 {
        by_insert.insert(format!("k{}", i % 35), Data::from(i.to_string().as_str()));
    }
    assert_eq!(many, by_insert);
    assert_eq!(many.len(), 35);
    assert_eq!(many.get("k0").and_then(Data::as_str), Some("35"));

    let mut merged: Object = [("a", Data::from("1")), ("b", Data::from("2"))]
        .into_iter()
        .collect();
    let source: Object = [("c", Data::from("3")), ("a", Data::from("4"))]
        .into_iter()
        .collect();
    merged.merge_members(source, |existing, new| {
        *existing = Data::List(vec![existing.clone(), new].into())
    });
    assert_eq!(
        Data::Object(merged.clone()).to_json(),
        br#"{"a":["1","4"],"b":"2","c":"3"}"#
    );
    let mut same = merged.clone();
    let updates: Object = [("c", Data::Null), ("b", Data::Bool(false))]
        .into_iter()
        .collect();
    same.merge_members(updates, |existing, new| *existing = new);
    assert_eq!(
        Data::Object(same).to_json(),
        br#"{"a":["1","4"],"b":false,"c":null}"#
    );
    let mut empty = Object::new();
    empty.merge_members(merged.clone(), |_, _| {
        unreachable!("no member to merge with")
    });
    assert_eq!(empty, merged);

    let mut extended = merged;
    extended.extend([
        (Str::new("d"), Data::Null),
        (Str::new("b"), Data::Bool(true)),
        (Str::new("d"), Data::from("x")),
    ]);
    assert_eq!(
        Data::Object(extended).to_json(),
        br#"{"a":["1","4"],"b":true,"c":"3","d":"x"}"#
    );
}

#[test]
fn keys_are_equal_exactly_when_their_bytes_are() {
    let keys: Vec<String> = (0..40)
        .map(|n| "abcdefghijklmnopqrstuvwxyz0123456789ABCD"[..n].to_owned())
        .collect();
    for a in &keys {
        for b in &keys {
            assert_eq!(key_eq(a, b), a == b, "{a:?} {b:?}");
        }
        // One byte changed at every position.
        for at in 0..a.len() {
            let mut changed = a.clone().into_bytes();
            changed[at] = b'_';
            let changed = String::from_utf8(changed).unwrap();
            assert!(!key_eq(a, &changed), "{a:?} {changed:?}");
        }
    }
}

#[test]
fn needs_escape_sees_a_special_byte_at_every_position_of_every_length() {
    for len in 0..70 {
        let plain: Vec<u8> = (0..len).map(|i| b"a\x7f\xc3\xa9 ~]"[i % 7]).collect();
        assert!(!needs_escape(&plain), "{len}");
        for at in 0..len {
            for special in [b'"', b'\\', 0x00, 0x1f] {
                let mut bytes = plain.clone();
                bytes[at] = special;
                assert!(needs_escape(&bytes), "{special:#x} at {at} of {len}");
            }
        }
    }
}

#[test]
fn needs_escape_finds_every_special_byte_at_every_position() {
    let plain = "aé😀\u{7f}~ Z".repeat(4);
    assert!(!needs_escape(plain.as_bytes()));
    for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
        for at in 0..23 {
            let mut bytes = b"abcdefghijklmnopqrstuvw".to_vec();
            bytes[at] = special;
            assert!(needs_escape(&bytes), "{special:#x} at {at}");
        }
    }
    for harmless in [0x20u8, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xff] {
        assert!(!needs_escape(&[harmless; 17]), "{harmless:#x}");
    }
}

#[test]
fn every_byte_value_needs_escaping_exactly_where_serde_json_escapes_it() {
    for b in 0..=255u8 {
        let escaped = serde_json::to_vec(&String::from_utf8_lossy(&[b])).unwrap_or_default();
        let serde_escapes = b < 0x80 && escaped.len() > 3;
        // Every way a string is checked: byte by byte (1), two words (8, 15), two blocks of 16
        // (16, 17, 32), blocks of 32 and the last block (33, 64, 70).
        for len in [1, 8, 15, 16, 17, 32, 33, 64, 70] {
            for at in [0, len / 2, len - 1] {
                let mut bytes = vec![b'a'; len];
                bytes[at] = b;
                let needs = needs_escape(&bytes);
                if b < 0x80 {
                    assert_eq!(needs, serde_escapes, "{b:#x} at {at} of {len}");
                } else {
                    // Bytes of multi-byte characters are never escaped.
                    assert!(!needs, "{b:#x} at {at} of {len}");
                }
            }
        }
    }
}

#[test]
fn written_strings_and_numbers_are_what_serde_json_writes() {
    for text in [
        "",
        "plain",
        "a\"b",
        "back\\slash",
        "tab\there",
        "\u{1}\u{1f}",
        "é😀</",
    ] {
        let mut out = Vec::new();
        write_str(&mut out, text);
        assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
    }
    for number in [
        json!(0),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(-1),
        json!(0.1),
        json!(-0.0),
        json!(1e-7),
        json!(123456789.0),
    ] {
        let Value::Number(n) = &number else {
            unreachable!()
        };
        let mut out = Vec::new();
        write_number(&mut out, n);
        assert_eq!(out, serde_json::to_vec(&number).unwrap(), "{number}");
    }
}

#[test]
fn merging_from_a_borrowed_object_gives_what_merging_its_clone_gives() {
    let targets = [
        r#"{}"#,
        r#"{"a":"1","b":{"x":1}}"#,
        r#"{"__typename":"P","upc":"1","b":{"x":1,"y":[{"p":1},{"p":2}]}}"#,
        r#"{"c":null}"#,
    ];
    let sources = [
        r#"{}"#,
        r#"{"a":"2","c":[1,2],"d":{"deep":{"er":true}}}"#,
        r#"{"b":{"y":[{"q":1},{"q":2}],"z":"long string of more than twenty-four bytes"},"e":1.5}"#,
        r#"{"b":{"y":[{"q":1}]},"upc":"1"}"#,
    ];
    // The overlay of the stitched schema: objects member by member, anything else replaced.
    fn owned(existing: &mut Data, new: Data) {
        match (existing, new) {
            (Data::Object(t), Data::Object(s)) => t.merge_members(s, owned),
            (existing, new) => *existing = new,
        }
    }
    fn borrowed(existing: &mut Data, new: &Data) {
        match (existing, new) {
            (Data::Object(t), Data::Object(s)) => t.merge_members_from(s, borrowed),
            (existing, new) => *existing = new.clone(),
        }
    }
    for target in targets {
        for source in sources {
            let object = |json: &str| match Data::from_slice(json.as_bytes()).unwrap() {
                Data::Object(object) => object,
                other => panic!("{other:?}"),
            };
            let mut by_value = object(target);
            by_value.merge_members(object(source), owned);
            let mut by_reference = object(target);
            let shared = object(source);
            by_reference.merge_members_from(&shared, borrowed);
            assert_eq!(by_reference, by_value, "{target} with {source}");
            assert_eq!(shared, object(source), "the source is left as it was");
        }
    }
}
