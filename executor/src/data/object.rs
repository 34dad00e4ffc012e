//! [`Object`]: a JSON object as a vector of members in order.

use super::{Data, Str};

/// A JSON object: its members in order, each key once.
///
/// The members are a boxed slice of exactly their number: objects of response data are built
/// once at their size and rarely grow, and a member added later costs one reallocation (which
/// the allocator mostly does in place). [`merge_members`](Self::merge_members) and
/// [`extend`](Self::extend) grow once for many members.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object {
    pub(super) entries: Box<[(Str, Data)]>,
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The position of `key`.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| key_eq(k, key))
    }

    /// The position of `key`, looked for from position `start` on and then from the first:
    /// where objects of one shape are read one after another, the position the key had in the
    /// last one finds it at the first comparison.
    ///
    /// ```
    /// use quilt_executor::data::{Data, Object};
    /// let object: Object = [("a", Data::Null), ("b", Data::Null), ("c", Data::Null)].into_iter().collect();
    /// assert_eq!(object.position_from("c", 1), Some(2));
    /// assert_eq!(object.position_from("a", 1), Some(0));
    /// assert_eq!(object.position_from("z", 7), None);
    /// ```
    #[inline]
    pub fn position_from(&self, key: &str, start: usize) -> Option<usize> {
        // The hinted member is checked here, inlined where the walks call it: it is the one
        // found nearly always.
        match self.entries.get(start) {
            Some((k, _)) if key_eq(k, key) => Some(start),
            _ => self.position_around(key, start),
        }
    }

    /// [`position_from`](Self::position_from) past the hinted member.
    #[inline(never)]
    fn position_around(&self, key: &str, start: usize) -> Option<usize> {
        let start = start.min(self.entries.len());
        let (before, after) = self.entries.split_at(start);
        after
            .iter()
            .skip(1)
            .position(|(k, _)| key_eq(k, key))
            .map(|i| start + 1 + i)
            .or_else(|| before.iter().position(|(k, _)| key_eq(k, key)))
    }

    /// The value at position `i`, to change.
    pub fn get_index_mut(&mut self, i: usize) -> Option<&mut Data> {
        self.entries.get_mut(i).map(|(_, v)| v)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Data> {
        self.entries
            .iter()
            .find(|(k, _)| key_eq(k, key))
            .map(|(_, v)| v)
    }

    /// The value of `key`, to change.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Data> {
        self.entries
            .iter_mut()
            .find(|(k, _)| key_eq(k, key))
            .map(|(_, v)| v)
    }

    /// Whether `key` is a member.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key` to `value`: an existing member keeps its place and gets the new value (which
    /// is what `serde_json::Map::insert` does), a new one goes last. Returns the old value.
    pub fn insert(&mut self, key: impl Into<Str>, value: Data) -> Option<Data> {
        let key = key.into();
        match self.position(&key) {
            Some(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            None => {
                self.push(key, value);
                None
            }
        }
    }

    /// Adds a member last (no check that the key is new).
    fn push(&mut self, key: Str, value: Data) {
        let mut entries = std::mem::take(&mut self.entries).into_vec();
        entries.reserve_exact(1);
        entries.push((key, value));
        self.entries = entries.into_boxed_slice();
    }

    /// Removes `key`, keeping the order of the others; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Data> {
        let i = self.position(key)?;
        let mut entries = std::mem::take(&mut self.entries).into_vec();
        let (_, value) = entries.remove(i);
        self.entries = entries.into_boxed_slice();
        Some(value)
    }

    /// The member at position `i`.
    pub fn get_index(&self, i: usize) -> Option<(&str, &Data)> {
        self.entries.get(i).map(|(k, v)| (k.as_str(), v))
    }

    /// The members, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Data)> + Clone {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The members, values to change.
    pub fn iter_mut(&mut self) -> impl ExactSizeIterator<Item = (&str, &mut Data)> {
        self.entries.iter_mut().map(|(k, v)| (k.as_str(), v))
    }

    /// The members as a slice (keys and values).
    pub fn entries(&self) -> &[(Str, Data)] {
        &self.entries
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// The values, in order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &Data> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// Puts `value` at `key`: `merge(existing, value)` when the key is a member, else the
    /// member is added last. One scan of the keys either way.
    ///
    /// ```
    /// use quilt_executor::data::{Data, Object};
    /// let mut object: Object = [("n", Data::from("a"))].into_iter().collect();
    /// let append = |existing: &mut Data, new: Data| {
    ///     *existing = Data::List(vec![existing.clone(), new].into())
    /// };
    /// object.merge_member("n".into(), Data::from("b"), append);
    /// object.merge_member("m".into(), Data::Null, append);
    /// assert_eq!(Data::Object(object).to_json(), br#"{"n":["a","b"],"m":null}"#);
    /// ```
    pub fn merge_member(&mut self, key: Str, value: Data, merge: impl FnOnce(&mut Data, Data)) {
        match self.position(&key) {
            Some(i) => merge(&mut self.entries[i].1, value),
            None => self.push(key, value),
        }
    }

    /// Puts every member of `source` in, as [`merge_member`](Self::merge_member) does one.
    /// The members grow once, at the first new key, by as many as `source` has left (and
    /// shrink back when some of those were already here); merging into members that are all
    /// there already allocates nothing.
    ///
    /// ```
    /// use quilt_executor::data::{Data, Object};
    /// let mut object: Object = [("a", Data::from("1")), ("b", Data::Null)].into_iter().collect();
    /// let source: Object = [("b", Data::from("2")), ("c", Data::from("3"))].into_iter().collect();
    /// object.merge_members(source, |existing, new| *existing = new);
    /// assert_eq!(Data::Object(object).to_json(), br#"{"a":"1","b":"2","c":"3"}"#);
    /// ```
    pub fn merge_members(&mut self, source: Object, mut merge: impl FnMut(&mut Data, Data)) {
        if self.entries.is_empty() {
            *self = source;
            return;
        }
        let existing = self.entries.len();
        let mut grown: Option<Vec<(Str, Data)>> = None;
        let mut members = source.into_iter();
        while let Some((key, value)) = members.next() {
            let here = match &mut grown {
                Some(entries) => &mut entries[..existing],
                None => &mut self.entries[..],
            };
            // `source`'s keys are distinct: only the members that were here can match.
            match here.iter().position(|(k, _)| key_eq(k, &key)) {
                Some(i) => merge(&mut here[i].1, value),
                None => {
                    let entries = grown.get_or_insert_with(|| {
                        let mut entries = std::mem::take(&mut self.entries).into_vec();
                        entries.reserve_exact(members.len() + 1);
                        entries
                    });
                    entries.push((key, value));
                }
            }
        }
        if let Some(entries) = grown {
            self.entries = entries.into_boxed_slice();
        }
    }

    /// [`merge_members`](Self::merge_members) from a borrowed `source`: `merge` gets each of
    /// its members whose key is here, and the others are cloned in after the existing ones
    /// (growing the members once). Where one object is merged into several targets, this
    /// clones what each target takes instead of the whole object for each.
    ///
    /// ```
    /// use quilt_executor::data::{Data, Object};
    /// let mut object: Object = [("a", Data::from("1")), ("b", Data::Null)].into_iter().collect();
    /// let source: Object = [("b", Data::from("2")), ("c", Data::from("3"))].into_iter().collect();
    /// object.merge_members_from(&source, |existing, new| *existing = new.clone());
    /// assert_eq!(Data::Object(object).to_json(), br#"{"a":"1","b":"2","c":"3"}"#);
    /// ```
    pub fn merge_members_from(&mut self, source: &Object, mut merge: impl FnMut(&mut Data, &Data)) {
        if self.entries.is_empty() {
            self.clone_from(source);
            return;
        }
        let existing = self.entries.len();
        let mut grown: Option<Vec<(Str, Data)>> = None;
        for (n, (key, value)) in source.entries.iter().enumerate() {
            let here = match &mut grown {
                Some(entries) => &mut entries[..existing],
                None => &mut self.entries[..],
            };
            // `source`'s keys are distinct: only the members that were here can match.
            match here.iter().position(|(k, _)| key_eq(k, key)) {
                Some(i) => merge(&mut here[i].1, value),
                None => {
                    let entries = grown.get_or_insert_with(|| {
                        let mut entries = std::mem::take(&mut self.entries).into_vec();
                        entries.reserve_exact(source.entries.len() - n);
                        entries
                    });
                    entries.push((key.clone(), value.clone()));
                }
            }
        }
        if let Some(entries) = grown {
            self.entries = entries.into_boxed_slice();
        }
    }

    /// Merges `other` in: each of its members is [`insert`](Self::insert)ed in order. The
    /// members grow once, by `other`'s length.
    pub fn extend(&mut self, other: impl IntoIterator<Item = (Str, Data)>) {
        let other = other.into_iter();
        let mut entries = std::mem::take(&mut self.entries).into_vec();
        entries.reserve_exact(other.size_hint().0);
        for (key, value) in other {
            match entries.iter().position(|(k, _)| key_eq(k, &key)) {
                Some(i) => entries[i].1 = value,
                None => entries.push((key, value)),
            }
        }
        self.entries = entries.into_boxed_slice();
    }

    /// Objects from members that are known to have distinct keys (no check).
    pub(crate) fn from_distinct(entries: Vec<(Str, Data)>) -> Self {
        Self {
            entries: entries.into_boxed_slice(),
        }
    }

    /// The object of members collected with [`put_member`]: small ones are distinct already,
    /// large ones have their repeated keys merged now.
    pub(crate) fn from_members(members: Vec<(Str, Data)>) -> Self {
        if members.len() >= LINEAR_DUPLICATE_CHECK {
            Self::from_distinct(without_duplicates(members))
        } else {
            Self::from_distinct(members)
        }
    }
}

/// Collects a member of the object whose members start at `base`: while the object is small, a
/// repeated key keeps its first place and takes the last value (as serde_json's map does);
/// beyond that, [`Object::from_members`] merges repeats once the object is complete.
pub(crate) fn put_member(members: &mut Vec<(Str, Data)>, base: usize, key: Str, value: Data) {
    let mine = &mut members[base..];
    if mine.len() < LINEAR_DUPLICATE_CHECK
        && let Some(slot) = mine.iter_mut().find(|(k, _)| key_eq(k, &key))
    {
        slot.1 = value;
    } else {
        members.push((key, value));
    }
}

/// Whether two keys are equal: lengths first, then short keys word by word instead of through a
/// `memcmp` call (member keys are mostly short).
#[inline(always)]
pub(crate) fn key_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word8 = |s: &[u8], at: usize| s.get(at..at + 8).and_then(|w| <[u8; 8]>::try_from(w).ok());
    let word4 = |s: &[u8], at: usize| s.get(at..at + 4).and_then(|w| <[u8; 4]>::try_from(w).ok());
    match n {
        // Two words that overlap when `n` is not their sum.
        8..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        4..=7 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        _ => a == b,
    }
}

impl IntoIterator for Object {
    type Item = (Str, Data);
    type IntoIter = std::vec::IntoIter<(Str, Data)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_vec().into_iter()
    }
}

/// Collects members as [`Object::insert`] puts them: a repeated key keeps its first place and
/// takes the last value.
impl<K: Into<Str>> FromIterator<(K, Data)> for Object {
    fn from_iter<I: IntoIterator<Item = (K, Data)>>(iter: I) -> Self {
        let mut members = Vec::new();
        for (key, value) in iter {
            put_member(&mut members, 0, key.into(), value);
        }
        Object::from_members(members)
    }
}

/// Objects of more members than this have their keys checked for duplicates with a hash set
/// once they are complete; smaller ones compare each new key with the ones before.
pub(crate) const LINEAR_DUPLICATE_CHECK: usize = 32;

/// Members of a large object with repeated keys merged as serde_json does (the first place,
/// the last value).
fn without_duplicates(members: Vec<(Str, Data)>) -> Vec<(Str, Data)> {
    let mut first: std::collections::HashMap<Str, usize> =
        std::collections::HashMap::with_capacity(members.len());
    let mut out: Vec<(Str, Data)> = Vec::with_capacity(members.len());
    for (key, value) in members {
        match first.get(&key) {
            Some(&i) => out[i].1 = value,
            None => {
                first.insert(key.clone(), out.len());
                out.push((key, value));
            }
        }
    }
    out
}
