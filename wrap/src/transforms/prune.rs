//! `PruneSchema`: removes the types no root operation can reach.

use apollo_compiler::Schema;
use apollo_compiler::schema::ExtendedType;

use crate::schema_edit::prune;
use crate::{Transform, TransformError};

type TypePredicate = Box<dyn Fn(&ExtendedType) -> bool + Send + Sync>;

/// Removes every type that no root operation type (nor a directive argument) can reach; the
/// implementations of a reachable interface count as reachable. Useful after filters, which
/// leave types nothing refers to. Requests and results pass unchanged.
#[derive(Default)]
pub struct PruneSchema {
    skip: Option<TypePredicate>,
}

impl PruneSchema {
    /// Prunes every unreachable type.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the unreachable types `keep` returns `true` for.
    pub fn skip_pruning(
        mut self,
        keep: impl Fn(&ExtendedType) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.skip = Some(Box::new(keep));
        self
    }
}

impl Transform for PruneSchema {
    fn name(&self) -> &str {
        "PruneSchema"
    }

    fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
        let Some(skip) = &self.skip else {
            return Ok(prune(schema));
        };
        let kept: Vec<(apollo_compiler::Name, ExtendedType)> = schema
            .types
            .iter()
            .filter(|(_, ty)| skip(ty))
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect();
        let mut pruned = prune(schema);
        for (name, ty) in kept {
            pruned.types.entry(name).or_insert(ty);
        }
        Ok(pruned)
    }
}
