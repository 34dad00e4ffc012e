//! The write walk of an entity step: down the same path, each gathered object's result put
//! in place (overlaid on the object, or as a gateway-defined field's value), and the client
//! path of an object for its errors.

use quilt_executor::data::Object;
use quilt_executor::{Data, PathSegment};

use super::gather::Objects;
use crate::plan::{EntityStep, Place};

/// Where the placing walk takes each object's result from.
pub(super) trait Source {
    /// Puts the result of object `i`, of representation `u`, into `target` (see [`put`]).
    fn put(&mut self, step: &EntityStep, target: &mut Object, i: usize, u: usize);
}

/// One result per representation, each shared by the objects of that representation: the
/// last of them takes it, the others get what they need of it cloned.
pub(super) struct Shared<'r> {
    pub results: &'r mut [Option<Data>],
    /// Per representation, its last object.
    pub last: Vec<usize>,
}

impl Source for Shared<'_> {
    fn put(&mut self, step: &EntityStep, target: &mut Object, i: usize, u: usize) {
        let Some(result) = self.results.get_mut(u) else {
            return;
        };
        if self.last.get(u) == Some(&i) {
            put(step, target, result.take());
        } else {
            put_ref(step, target, result.as_ref());
        }
    }
}

/// A value made for each object: `result(i, u)`.
pub(super) struct Each<F>(pub F);

impl<F: FnMut(usize, usize) -> Option<Data>> Source for Each<F> {
    fn put(&mut self, step: &EntityStep, target: &mut Object, i: usize, u: usize) {
        put(step, target, (self.0)(i, u));
    }
}

/// Puts each gathered object's result in place, in one walk down each of the step's paths
/// (the walks `gather` took, so the objects come in the same order), from `source`. An object
/// no longer at its place (a value placed since replaced it) is skipped.
pub(super) fn place_all(
    step: &EntityStep,
    objects: &Objects,
    data: &mut Object,
    source: &mut impl Source,
) {
    let mut placer = Placer {
        step,
        objects,
        next: 0,
        end: 0,
        source,
        hints: Vec::new(),
    };
    for (place, Place { path, .. }) in step.places.iter().enumerate() {
        let range = objects.range(place);
        if range.is_empty() {
            continue;
        }
        (placer.next, placer.end) = (range.start, range.end);
        placer.hints.clear();
        placer.hints.resize(path.len().saturating_sub(1), 0);
        match path.split_first() {
            // A gateway-defined root field: the parent is the root object.
            None => placer.object(data, &[]),
            Some((first, rest)) => {
                if let Some(value) = data.get_mut(first) {
                    placer.value(value, rest, &mut Vec::new());
                }
            }
        }
    }
}

struct Placer<'p, S> {
    step: &'p EntityStep,
    objects: &'p Objects,
    /// The next object to place.
    next: usize,
    /// Where the objects of the place being walked end.
    end: usize,
    source: &'p mut S,
    /// For each key of the path after the first, where it was found last (see `Walk`).
    hints: Vec<usize>,
}

impl<S: Source> Placer<'_, S> {
    fn value(&mut self, value: &mut Data, keys: &[String], indices: &mut Vec<u32>) {
        if self.next >= self.end {
            return;
        }
        match value {
            Data::List(items) => {
                for (i, item) in items.iter_mut().enumerate() {
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
                        if let Some(child) = map.get_index_mut(i) {
                            self.value(child, rest, indices);
                        }
                    }
                }
                None => self.object(map, indices),
            },
            _ => {}
        }
    }

    fn object(&mut self, map: &mut Object, indices: &[u32]) {
        // Objects the walk went past without reaching are gone: skip them.
        while self.next < self.end
            && self
                .objects
                .get(self.next)
                .is_some_and(|(at, _)| at < indices)
        {
            self.next += 1;
        }
        if self.next >= self.end {
            return;
        }
        let Some((at, u)) = self.objects.get(self.next) else {
            return;
        };
        if at != indices {
            return;
        }
        self.source.put(self.step, map, self.next, u);
        self.next += 1;
    }
}

/// Puts one object's result in place: overlaid on the object, or as the value of the
/// gateway-defined field.
fn put(step: &EntityStep, target: &mut Object, value: Option<Data>) {
    match (&step.placement, value) {
        (Some(key), value) => {
            target.insert(key.as_str(), value.unwrap_or(Data::Null));
        }
        (None, Some(Data::Object(source))) => overlay(target, source),
        (None, _) => {}
    }
}

/// [`put`] from a borrowed result: what the object takes of it is cloned.
fn put_ref(step: &EntityStep, target: &mut Object, value: Option<&Data>) {
    match (&step.placement, value) {
        (Some(key), value) => {
            target.insert(key.as_str(), value.cloned().unwrap_or(Data::Null));
        }
        (None, Some(Data::Object(source))) => overlay_ref(target, source),
        (None, _) => {}
    }
}

/// The client path of the object reached by `indices` down `keys` (a place's path; list
/// indices where the data has lists).
pub(super) fn client_path(keys: &[String], data: &Object, indices: &[u32]) -> Vec<PathSegment> {
    let mut path = Vec::with_capacity(keys.len() + indices.len());
    let Some((first, rest)) = keys.split_first() else {
        return path;
    };
    path.push(PathSegment::Key(first.clone()));
    let mut value = data.get(first);
    let (mut keys, mut indices) = (rest, indices);
    while let Some(current) = value {
        match current {
            Data::List(items) => {
                let Some((i, more)) = indices.split_first() else {
                    break;
                };
                path.push(PathSegment::Index(*i as usize));
                value = items.get(*i as usize);
                indices = more;
            }
            Data::Object(map) => {
                let Some((key, more)) = keys.split_first() else {
                    break;
                };
                path.push(PathSegment::Key(key.clone()));
                value = map.get(key);
                keys = more;
            }
            _ => break,
        }
    }
    path
}

/// Overlays `source` on `target`: objects key by key, lists of the same length item by item.
fn overlay(target: &mut Object, source: Object) {
    target.merge_members(source, overlay_value);
}

/// Overlays `value` on `existing` (see [`overlay`]).
pub(crate) fn overlay_value(existing: &mut Data, value: Data) {
    match (existing, value) {
        (Data::Object(t), Data::Object(s)) => overlay(t, s),
        (Data::List(t), Data::List(s)) if t.len() == s.len() => {
            for (t, s) in t.iter_mut().zip(s) {
                match (t, s) {
                    (Data::Object(t), Data::Object(s)) => overlay(t, s),
                    (t, s) => *t = s,
                }
            }
        }
        (existing, value) => *existing = value,
    }
}

/// [`overlay`] from a borrowed `source`.
fn overlay_ref(target: &mut Object, source: &Object) {
    target.merge_members_from(source, overlay_value_ref);
}

/// [`overlay_value`] from a borrowed `value`.
fn overlay_value_ref(existing: &mut Data, value: &Data) {
    match (existing, value) {
        (Data::Object(t), Data::Object(s)) => overlay_ref(t, s),
        (Data::List(t), Data::List(s)) if t.len() == s.len() => {
            for (t, s) in t.iter_mut().zip(s) {
                match (t, s) {
                    (Data::Object(t), Data::Object(s)) => overlay_ref(t, s),
                    (t, s) => *t = s.clone(),
                }
            }
        }
        (existing, value) => *existing = value.clone(),
    }
}
