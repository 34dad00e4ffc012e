//! The read walk of an entity step: down the step's path through the fetched data (lists
//! included) to the objects it applies to, each one's representation found or added (distinct
//! ones once), written as values or, for `_entities`, straight as JSON text (the text of a
//! representation is also what tells it apart from the others).

use std::hash::BuildHasher;
use std::sync::atomic::Ordering;

use apollo_compiler::collections::HashMap;
use hashbrown::HashTable;
use quilt_executor::data::{Object, write_str};
use quilt_executor::{Data, JsonMap, RawJson};
use rustc_hash::FxBuildHasher;
use serde_json::Value;

use crate::plan::{EntityStep, MAX_DISTINCT_HINT, MAX_WRITTEN_HINT};

/// The objects an entity step applies to.
#[derive(Default)]
pub(super) struct Gathered {
    /// The distinct representations, in first-seen order (moved into the request where it
    /// sends them as they are: `count` keeps their number).
    pub representations: Vec<JsonMap>,
    /// The number of distinct representations.
    pub count: usize,
    /// The representations as one JSON array, written straight from the response data (for
    /// `_entities`): then `representations` is empty.
    pub raw: Option<RawJson>,
    /// Every object: the list indices on its way from the root (the keys are the step's path),
    /// and the index of its representation.
    pub objects: Objects,
}

/// The gathered objects, place by place (a step has one place, or several it was merged
/// from): each one's list indices (kept in one buffer) and representation.
#[derive(Default)]
pub(super) struct Objects {
    /// Every object's list indices, one after another.
    indices: Vec<u32>,
    /// Per object: where its indices end in `indices`, and its representation.
    entries: Vec<(usize, usize)>,
    /// Per place of the step: where its objects end in `entries`.
    place_ends: Vec<usize>,
}

impl Objects {
    fn push(&mut self, indices: &[u32], representation: usize) {
        self.indices.extend_from_slice(indices);
        self.entries.push((self.indices.len(), representation));
    }

    /// Ends the objects of the current place: the next ones are of the next place.
    fn end_place(&mut self) {
        self.place_ends.push(self.entries.len());
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Object `i`: its list indices and its representation.
    pub fn get(&self, i: usize) -> Option<(&[u32], usize)> {
        let (end, representation) = *self.entries.get(i)?;
        let start = i.checked_sub(1).map_or(0, |before| self.entries[before].0);
        Some((&self.indices[start..end], representation))
    }

    /// The objects of place `place` (positions for [`get`](Self::get)).
    pub fn range(&self, place: usize) -> std::ops::Range<usize> {
        let start = place
            .checked_sub(1)
            .and_then(|before| self.place_ends.get(before))
            .copied()
            .unwrap_or(0);
        let end = self.place_ends.get(place).copied().unwrap_or(self.len());
        start.min(end)..end
    }

    /// The place of object `i`.
    pub fn place_of(&self, i: usize) -> usize {
        self.place_ends.partition_point(|&end| end <= i)
    }

    /// Every object, place by place: its place, its list indices and its representation.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &[u32], usize)> {
        (0..self.place_ends.len()).flat_map(move |place| {
            self.range(place).filter_map(move |i| {
                self.get(i)
                    .map(|(indices, representation)| (place, indices, representation))
            })
        })
    }
}

/// Walks the step's paths through `data` (lists included) and gathers the objects; with `raw`,
/// writes the representations as JSON text (unless a requirement is named `__typename`).
pub(super) fn gather(step: &EntityStep, data: &Object, raw: bool) -> Gathered {
    // A requirement named `__typename` replaces the type's name, as inserting it into the
    // template does, and an entity without requirements has nothing to write per object:
    // only the by-value path does those.
    let raw = raw
        && !step.requirements.is_empty()
        && step.representation.len() == step.requirements.len() + 1;
    let hint = step.distinct_hint.load(Ordering::Relaxed);
    let mut walk = Walk {
        step,
        gathered: Gathered::default(),
        distinct: if raw {
            Distinct::Written(Written::new(step, hint))
        } else {
            Distinct::Values {
                seen: HashMap::with_capacity_and_hasher(hint, Default::default()),
                key: Vec::new(),
            }
        },
        hints: Vec::new(),
        found: Vec::with_capacity(step.requirements.len()),
        requirement_hints: vec![0; step.requirements.len() + 1],
    };
    for place in &step.places {
        walk.hints.clear();
        walk.hints.resize(place.path.len().saturating_sub(1), 0);
        match place.path.split_first() {
            // A gateway-defined root field: the parent is the root object.
            None => walk.object(data, &[]),
            Some((first, rest)) => {
                if let Some(value) = data.get(first) {
                    walk.value(value, rest, &mut Vec::new());
                }
            }
        }
        walk.gathered.objects.end_place();
    }
    let mut gathered = walk.gathered;
    match walk.distinct {
        Distinct::Written(written) => {
            gathered.count = written.spans.len();
            // With the closing bracket `finish` adds: a text sized to the hint must not grow
            // (and copy itself whole) for its last byte.
            step.written_hint.store(
                (written.text.len() + 1).min(MAX_WRITTEN_HINT),
                Ordering::Relaxed,
            );
            gathered.raw = Some(written.finish());
        }
        Distinct::Values { .. } => gathered.count = gathered.representations.len(),
    }
    step.distinct_hint
        .store(gathered.count.min(MAX_DISTINCT_HINT), Ordering::Relaxed);
    gathered
}

/// How the walk tells representations apart, and keeps the distinct ones.
enum Distinct {
    /// As values (`Gathered::representations`), by a key of their requirement values.
    Values {
        seen: HashMap<Vec<u8>, usize>,
        /// A reused buffer for the key.
        key: Vec<u8>,
    },
    /// As JSON text, by that text.
    Written(Written),
}

/// The distinct representations of a step written as one JSON array, as the by-value path
/// would serialize them: `[{"__typename": ..., "<requirement>": ..., ...}, ...]`. Each object's
/// representation is written at the end of the text and looked up by the bytes written: a
/// repeat is taken off again.
struct Written {
    /// `[` and the distinct representations so far, separated by commas.
    text: Vec<u8>,
    /// Where each distinct representation's text lies in `text`.
    spans: Vec<(usize, usize)>,
    /// Each distinct representation's text hash and index.
    table: HashTable<(u64, usize)>,
    /// What comes before each requirement's value: `{"__typename":"<type>","<first>":`, then
    /// `,"<next>":`.
    pieces: Vec<Vec<u8>>,
}

impl Written {
    fn new(step: &EntityStep, hint: usize) -> Self {
        let pieces = step
            .requirements
            .iter()
            .enumerate()
            .map(|(i, requirement)| {
                let mut piece = Vec::new();
                if i == 0 {
                    piece.extend_from_slice(b"{\"__typename\":");
                    write_str(&mut piece, step.resolver.type_name.as_str());
                }
                piece.push(b',');
                write_str(&mut piece, requirement.as_str());
                piece.push(b':');
                piece
            })
            .collect();
        let mut text = Vec::with_capacity(step.written_hint.load(Ordering::Relaxed).max(64));
        text.push(b'[');
        Written {
            text,
            spans: Vec::with_capacity(hint),
            table: HashTable::with_capacity(hint),
            pieces,
        }
    }

    /// The index of the representation of `values` (one per requirement), written and added
    /// when it is new.
    fn index(&mut self, values: &[&Data]) -> usize {
        let Written {
            text,
            spans,
            table,
            pieces,
        } = self;
        let mark = text.len();
        if !spans.is_empty() {
            text.push(b',');
        }
        let start = text.len();
        for (piece, value) in pieces.iter().zip(values) {
            text.extend_from_slice(piece);
            value.write_json(text);
        }
        text.push(b'}');
        let written = &text[start..];
        let hash = FxBuildHasher.hash_one(written);
        let seen = table.find(hash, |&(h, i)| {
            h == hash && spans.get(i).is_some_and(|&(s, e)| &text[s..e] == written)
        });
        if let Some(&(_, index)) = seen {
            text.truncate(mark);
            return index;
        }
        let index = spans.len();
        spans.push((start, text.len()));
        table.insert_unique(hash, (hash, index), |&(h, _)| h);
        index
    }

    /// The JSON array.
    fn finish(mut self) -> RawJson {
        self.text.push(b']');
        // Response data holds UTF-8 strings, and the writer writes UTF-8: the fallback is not
        // reached.
        let text = String::from_utf8(self.text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        RawJson::from_written(text)
    }
}

struct Walk<'w> {
    step: &'w EntityStep,
    gathered: Gathered,
    distinct: Distinct,
    /// For each key of the path after the first, where it was found last: the objects of one
    /// list mostly hold their members in one order.
    hints: Vec<usize>,
    /// A reused buffer for an object's requirement values.
    found: Vec<&'w Data>,
    /// Where `__typename` and each requirement were found last.
    requirement_hints: Vec<usize>,
}

impl<'w> Walk<'w> {
    fn value(&mut self, value: &'w Data, keys: &[String], indices: &mut Vec<u32>) {
        match value {
            Data::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    indices.push(i as u32);
                    self.value(item, keys, indices);
                    indices.pop();
                }
            }
            Data::Object(map) => match keys.split_first() {
                Some((key, rest)) => {
                    let depth = self.hints.len() - keys.len();
                    if let Some(i) = map.position_from(key, self.hints[depth]) {
                        self.hints[depth] = i;
                        if let Some((_, child)) = map.get_index(i) {
                            self.value(child, rest, indices);
                        }
                    }
                }
                None => self.object(map, indices),
            },
            _ => {}
        }
    }

    /// The member `key` of `object`, looked for where hint `slot` says first.
    fn find(&mut self, object: &'w Object, slot: usize, key: &str) -> Option<&'w Data> {
        let i = object.position_from(key, self.requirement_hints[slot])?;
        self.requirement_hints[slot] = i;
        object.get_index(i).map(|(_, value)| value)
    }

    /// An object at the step's place: skipped when it is of another type or lacks a key field
    /// (its key came back null); else its representation is found or added.
    fn object(&mut self, map: &'w Object, indices: &[u32]) {
        let step = self.step;
        if step.type_condition.is_some()
            && self.find(map, 0, "__typename").and_then(Data::as_str)
                != Some(step.resolver.type_name.as_str())
        {
            return;
        }
        self.found.clear();
        for (i, ((alias, requirement), &plain)) in step
            .aliases
            .iter()
            .zip(&step.requirements)
            .zip(&step.plain_first)
            .enumerate()
        {
            // Under its `_qk_` alias, or under its own name where the fetch selected it plainly
            // for the client and the planner did not select it twice; the name no fetch
            // aliases is looked for first (an absent key costs a read of every member).
            let (first, second) = if plain {
                (requirement.as_str(), alias.as_str())
            } else {
                (alias.as_str(), requirement.as_str())
            };
            let value = match self.find(map, i + 1, first) {
                Some(value) => Some(value),
                None => self.find(map, i + 1, second),
            };
            match value {
                Some(value) => self.found.push(value),
                None => return,
            }
        }
        let index = match &mut self.distinct {
            Distinct::Written(written) => written.index(&self.found),
            Distinct::Values { seen, key } => {
                dedup_key(&self.found, key);
                let next = seen.len();
                match seen.get(key.as_slice()) {
                    Some(index) => *index,
                    None => {
                        seen.insert(key.clone(), next);
                        let representation = representation(step, &self.found);
                        self.gathered.representations.push(representation);
                        next
                    }
                }
            }
        };
        self.gathered.objects.push(indices, index);
    }
}

/// Writes requirement values into `key`: strings as they are, anything else as JSON, each
/// behind a tag and followed by a separator.
fn dedup_key(values: &[&Data], key: &mut Vec<u8>) {
    key.clear();
    for value in values {
        match value {
            Data::String(s) => {
                key.push(b's');
                key.extend_from_slice(s.as_bytes());
            }
            value => {
                key.push(b'v');
                value.write_json(key);
            }
        }
        key.push(0);
    }
}

/// `__typename` and the requirement fields of an object, from its requirement values: a copy
/// of the step's template (its keys' hashes copied, not computed) with the values put in.
fn representation(step: &EntityStep, values: &[&Data]) -> JsonMap {
    let mut representation = step.representation.clone();
    if representation.len() == step.requirements.len() + 1 {
        // `__typename` first, then the requirements in their order.
        for (slot, value) in representation.values_mut().skip(1).zip(values) {
            *slot = Value::from(*value);
        }
    } else {
        // A requirement named like another key (`__typename`): insert one by one.
        for (requirement, value) in step.requirements.iter().zip(values) {
            representation.insert(requirement.as_str().to_owned(), Value::from(*value));
        }
    }
    representation
}
