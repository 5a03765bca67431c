//! The record: what one appended event looks like in storage, how its bytes are made, and how it is
//! sealed into the chain. See docs/FORMAT.md for the same rules in prose.

use serde::{Deserialize, Serialize};

/// Version of the record encoding. It is part of every hash, so a change of encoding can never
/// produce a hash that collides with an older record's.
pub const RECORD_FORMAT: u8 = 1;

/// Domain separation tag that starts every hash input, so a record hash can never be confused
/// with a BLAKE3 hash of anything else.
pub const HASH_DOMAIN: &[u8] = b"garanti/ledger/record\0";

/// The most stored bytes a record may have: a C2SP tlog-tiles entry bundle gives each entry a
/// 16-bit length.
pub const MAX_RECORD_BYTES: usize = 65_535;

/// `prev_hash` of the first record (seq 0): 32 zero bytes.
pub const GENESIS_PREV_HASH: Hash = [0u8; 32];

/// A BLAKE3 hash.
pub type Hash = [u8; 32];

/// An instant with the UTC offset it was written with, so that an export shows the source
/// system's own notation (`+01:00`, `+02:00`) while every comparison uses the instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Timestamp {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    pub unix_nanos: i64,
    /// Seconds east of UTC of the notation it was given in.
    pub offset_seconds: i32,
}

impl Timestamp {
    /// A UTC instant.
    pub fn utc(unix_nanos: i64) -> Self {
        Timestamp {
            unix_nanos,
            offset_seconds: 0,
        }
    }

    /// The ledger's clock, read at the edge (appends take it as an input).
    pub fn now() -> Self {
        let now = chrono::Utc::now();
        // Out of range only after the year 2262.
        Timestamp::utc(now.timestamp_nanos_opt().unwrap_or(i64::MAX))
    }

    /// Parses an RFC 3339 timestamp with offset (`2017-03-10T08:00:00+01:00`).
    pub fn parse_rfc3339(text: &str) -> Result<Self, String> {
        check_rfc3339_shape(text).map_err(|what| {
            format!("{text:?} is not an RFC 3339 timestamp with offset ({what}); write e.g. 2017-03-10T08:00:00+01:00")
        })?;
        let parsed = chrono::DateTime::parse_from_rfc3339(text).map_err(|e| {
            format!("{text:?} is not an RFC 3339 timestamp with offset ({e}); write e.g. 2017-03-10T08:00:00+01:00")
        })?;
        let unix_nanos = parsed
            .timestamp_nanos_opt()
            .ok_or_else(|| format!("{text:?} is outside the years 1677-2262"))?;
        Ok(Timestamp {
            unix_nanos,
            offset_seconds: parsed.offset().local_minus_utc(),
        })
    }

    /// RFC 3339 in its own offset, with as many fractional digits as needed.
    pub fn to_rfc3339(&self) -> String {
        let utc = chrono::DateTime::from_timestamp_nanos(self.unix_nanos);
        match chrono::FixedOffset::east_opt(self.offset_seconds) {
            Some(offset) if self.offset_seconds != 0 => utc
                .with_timezone(&offset)
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),
            _ => utc.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        }
    }
}

/// Checks the exact form `YYYY-MM-DDTHH:MM:SS[.F{1,9}](Z|±HH:MM)` before a parser that is more
/// lenient (it takes spaces for digits, a leap second as the next minute, any number of
/// fractional digits): what is stored is what was meant, or it is refused.
fn check_rfc3339_shape(text: &str) -> Result<(), &'static str> {
    let b = text.as_bytes();
    let digits = |from: usize, to: usize| {
        b.get(from..to)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let at = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    if !(digits(0, 4) && at(4, b"-") && digits(5, 7) && at(7, b"-") && digits(8, 10)) {
        return Err("the date must be YYYY-MM-DD, digits only");
    }
    if !(at(10, b"Tt")
        && digits(11, 13)
        && at(13, b":")
        && digits(14, 16)
        && at(16, b":")
        && digits(17, 19))
    {
        return Err("the time must be THH:MM:SS, digits only");
    }
    if b[17] > b'5' {
        return Err("seconds run from 00 to 59");
    }
    let mut i = 19;
    if at(i, b".") {
        let fraction = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&fraction) {
            return Err("a fraction of a second has 1 to 9 digits");
        }
        i += 1 + fraction;
    }
    let zone_ok = match b.get(i) {
        Some(b'Z' | b'z') => b.len() == i + 1,
        Some(b'+' | b'-') => {
            b.len() == i + 6 && digits(i + 1, i + 3) && at(i + 3, b":") && digits(i + 4, i + 6)
        }
        _ => false,
    };
    if !zone_ok {
        return Err("it must end in Z or an offset +HH:MM");
    }
    Ok(())
}

/// An event in the interchange format of EVENTS.md, before the ledger adds its own fields.
/// The ledger does not interpret `event_type` or `data`: that is the domain's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub stream: String,
    pub event_type: String,
    pub effective_at: Timestamp,
    pub recorded_at: Option<Timestamp>,
    pub actor: String,
    /// The `data` object as compact JSON text with sorted keys.
    pub data: String,
}

/// A record as encoded in its stored bytes (postcard, RECORD_FORMAT 1). Field order is the wire
/// order: never reorder, only add a new format version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordView<'a> {
    pub seq: u64,
    pub stream: &'a str,
    pub stream_version: u64,
    pub appended_at: i64,
    pub appended_by: &'a str,
    pub event_type: &'a str,
    pub effective_at: Timestamp,
    pub recorded_at: Option<Timestamp>,
    pub actor: &'a str,
    pub data: &'a str,
}

impl RecordView<'_> {
    /// The stored bytes of this record.
    pub fn encode(&self) -> Vec<u8> {
        // postcard only fails on writer errors, and a Vec writer cannot fail.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    pub fn appended_at(&self) -> Timestamp {
        Timestamp::utc(self.appended_at)
    }

    /// Recorded time (RULES.md §0): `recorded_at`, or else `appended_at`.
    pub fn recorded_or_appended(&self) -> Timestamp {
        self.recorded_at.unwrap_or_else(|| self.appended_at())
    }
}

/// Why stored bytes are not a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not a postcard record of format {RECORD_FORMAT}: {0}")]
    Malformed(String),
    #[error("{0} bytes follow the end of the record")]
    TrailingBytes(usize),
}

/// Decodes stored bytes. Non-canonical encodings are accepted (postcard's decoder is lenient), which
/// is why the hash is always taken over the stored bytes and never over a re-encoding.
pub fn decode(bytes: &[u8]) -> Result<RecordView<'_>, DecodeError> {
    let (view, rest) = postcard::take_from_bytes::<RecordView<'_>>(bytes)
        .map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    Ok(view)
}

/// The chain rule: BLAKE3(HASH_DOMAIN ‖ RECORD_FORMAT ‖ prev_hash ‖ stored bytes).
pub fn seal(prev_hash: &Hash, bytes: &[u8]) -> Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(HASH_DOMAIN);
    hasher.update(&[RECORD_FORMAT]);
    hasher.update(prev_hash);
    hasher.update(bytes);
    *hasher.finalize().as_bytes()
}

/// A record as it sits in storage: its chain fields and exactly its stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub seq: u64,
    pub prev_hash: Hash,
    pub hash: Hash,
    pub bytes: Vec<u8>,
}

impl StoredRecord {
    pub fn view(&self) -> Result<RecordView<'_>, DecodeError> {
        decode(&self.bytes)
    }
}

/// The end of the chain: the last record's seq and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: Hash,
}

impl Head {
    pub fn hash_hex(&self) -> String {
        hex::encode(self.hash)
    }
}

impl std::fmt::Display for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "seq {} hash {}", self.seq, self.hash_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RecordView<'static> {
        RecordView {
            seq: 0,
            stream: "dk-101:c-0001",
            stream_version: 1,
            appended_at: 1_700_000_000_000_000_000,
            appended_by: "cli",
            event_type: "sanction_guidance_given",
            effective_at: Timestamp {
                unix_nanos: 1_485_939_600_000_000_000,
                offset_seconds: 3600,
            },
            recorded_at: None,
            actor: "cw-17",
            data: "{}",
        }
    }

    #[test]
    fn encode_decode_round_trip() {
        let view = sample();
        let bytes = view.encode();
        assert_eq!(decode(&bytes), Ok(view));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = sample().encode();
        bytes.push(0);
        assert_eq!(decode(&bytes), Err(DecodeError::TrailingBytes(1)));
    }

    #[test]
    fn truncated_bytes_are_refused() {
        let bytes = sample().encode();
        assert!(matches!(
            decode(&bytes[..bytes.len() - 1]),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn seal_covers_prev_hash_and_every_byte() {
        let bytes = sample().encode();
        let h = seal(&GENESIS_PREV_HASH, &bytes);
        assert_ne!(h, seal(&[1u8; 32], &bytes));
        for i in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[i] ^= 0x01;
            assert_ne!(h, seal(&GENESIS_PREV_HASH, &changed), "byte {i}");
        }
    }

    #[test]
    fn timestamps_keep_their_offset() {
        let t = Timestamp::parse_rfc3339("2017-03-10T08:00:00+01:00").unwrap();
        assert_eq!(t.unix_nanos, 1_489_129_200_000_000_000);
        assert_eq!(t.to_rfc3339(), "2017-03-10T08:00:00+01:00");
        let z = Timestamp::parse_rfc3339("2017-03-10T07:00:00.5Z").unwrap();
        assert_eq!(z.to_rfc3339(), "2017-03-10T07:00:00.500Z");
        assert!(Timestamp::parse_rfc3339("2017-03-10T08:00:00").is_err());
        assert!(Timestamp::parse_rfc3339("2017-02-30T08:00:00Z").is_err());
        // What a lenient parser takes, refused.
        for bad in [
            "2017-03- 2T08:00:00Z",
            "2017-03-02T 8:00:00Z",
            "2017-03-02T08:00:60Z",
            "2017-03-02T08:00:00.1234567891Z",
            "2017-03-02T08:00:00.Z",
            "2017-03-02T08:00:00+1:00",
            "2017-03-02T08:00:00+01:00 ",
            "2017-03-02 08:00:00Z",
            "2017-03-02T08:00:00",
        ] {
            let err = Timestamp::parse_rfc3339(bad).unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
        for good in [
            "2017-03-02T08:00:59Z",
            "2017-03-02t08:00:00z",
            "2017-03-02T08:00:00.123456789+01:00",
            "2017-03-02T08:00:00.5-05:30",
        ] {
            assert!(Timestamp::parse_rfc3339(good).is_ok(), "{good}");
        }
    }
}

#[cfg(test)]
mod vectors {
    //! The test vector of docs/FORMAT.md.
    use super::*;

    pub fn vector() -> RecordView<'static> {
        RecordView {
            seq: 0,
            stream: "dk-101:c-0001",
            stream_version: 1,
            appended_at: 1_700_000_000_123_456_789,
            appended_by: "cli",
            event_type: "offer_started",
            effective_at: Timestamp {
                unix_nanos: 1_489_129_200_000_000_000,
                offset_seconds: 3600,
            },
            recorded_at: Some(Timestamp {
                unix_nanos: 1_489_129_260_000_000_000,
                offset_seconds: 3600,
            }),
            actor: "cw-17",
            data: r#"{"offer_id":"o-1"}"#,
        }
    }

    #[test]
    fn the_documented_vector_holds() {
        let bytes = vector().encode();
        assert_eq!(
            hex::encode(&bytes),
            "000d646b2d3130313a632d3030303101aab4aed8c7bfce972f03636c690d6f666665725f737461727465648080cbeac3c7b9aa29a0380180e085ef82cbb9aa29a0380563772d3137127b226f666665725f6964223a226f2d31227d"
        );
        assert_eq!(
            hex::encode(seal(&GENESIS_PREV_HASH, &bytes)),
            "16c0cffd15f5c04e83db1aa8ad0edede28d91b3fdd8517ac22ff8c9ec271a553"
        );
        assert_eq!(decode(&bytes), Ok(vector()));
    }

    /// The second vector of docs/FORMAT.md §4: negative zigzag values (an instant before 1970, an
    /// offset west of UTC), no `recorded_at`, chained on the first.
    #[test]
    fn the_second_documented_vector_holds() {
        let second = RecordView {
            seq: 1,
            stream: "se-1480:p-7",
            stream_version: 2,
            appended_at: 1_700_000_001_000_000_000,
            appended_by: "t-ops",
            event_type: "action_plan_updated",
            effective_at: Timestamp {
                unix_nanos: -1_500_000_000,
                offset_seconds: -18_000,
            },
            recorded_at: None,
            actor: "hl-2",
            data: r#"{"shared":true}"#,
        };
        let bytes = second.encode();
        let first = seal(&GENESIS_PREV_HASH, &vector().encode());
        assert_eq!(hex::encode(&bytes), "010b73652d313438303a702d370280a8a69ccebfce972f05742d6f707313616374696f6e5f706c616e5f75706461746564ffbbc1960b9f99020004686c2d320f7b22736861726564223a747275657d");
        assert_eq!(
            hex::encode(seal(&first, &bytes)),
            "765e1f4accde6b3e71e4283c8b2d9311b4404478b7a9e396b1a180bda3ec05ef"
        );
        assert_eq!(decode(&bytes), Ok(second));
    }

    /// A varint longer than its type allows, or carrying bits beyond its width, is refused.
    #[test]
    fn an_overlong_varint_is_undecodable() {
        let bytes = vector().encode();
        // seq 2^64 - 1 takes ten bytes, the last 0x01; 0x02 there would be 2^64.
        let with_seq = |varint: &[u8]| [varint, &bytes[1..]].concat();
        let max = with_seq(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(decode(&max).map(|v| v.seq), Ok(u64::MAX));
        for bad in [
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02][..],
            &[
                0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
            ][..],
        ] {
            assert!(decode(&with_seq(bad)).is_err(), "{bad:02x?}");
        }
    }
}
