//! The Parquet schema of each class, built from the mapping table: every field a class's
//! groups can write, nested as OCSF nests it, plus the fields every event has. One fixed schema
//! per class keeps every object of a custom source readable as one Glue table. `unmapped` is a
//! JSON string: its shape is whatever Okta sent.

use crate::ocsf::table::{FieldType, TABLE, Table};
use arrow_schema::{DataType, Field, Fields, Schema};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A column tree under construction.
#[derive(Debug, Clone)]
enum Node {
    Leaf(DataType),
    Struct(BTreeMap<String, Node>),
    List(Box<Node>),
}

/// The fields every event of every class has, whatever its groups.
const HEADER: &[(&str, FieldType)] = &[
    ("class_uid", FieldType::Int),
    ("class_name", FieldType::String),
    ("category_uid", FieldType::Int),
    ("category_name", FieldType::String),
    ("activity_id", FieldType::Int),
    ("activity_name", FieldType::String),
    ("type_uid", FieldType::Long),
    ("type_name", FieldType::String),
    ("time", FieldType::Long),
    ("severity_id", FieldType::Int),
    ("severity", FieldType::String),
    ("metadata.version", FieldType::String),
    ("metadata.profiles[0]", FieldType::String),
    ("metadata.product.vendor_name", FieldType::String),
    ("metadata.product.name", FieldType::String),
    ("unmapped", FieldType::String),
];

fn data_type(kind: FieldType) -> DataType {
    match kind {
        FieldType::String => DataType::Utf8,
        FieldType::Int => DataType::Int32,
        FieldType::Long => DataType::Int64,
        FieldType::Float => DataType::Float64,
    }
}

fn insert(tree: &mut BTreeMap<String, Node>, path: &str, leaf: DataType) {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let (name, list) = match head.split_once('[') {
        Some((name, _)) => (name, true),
        None => (head, false),
    };
    let node = tree.entry(name.to_string()).or_insert_with(|| {
        let inner = match rest {
            Some(_) => Node::Struct(BTreeMap::new()),
            None => Node::Leaf(leaf.clone()),
        };
        if list {
            Node::List(Box::new(inner))
        } else {
            inner
        }
    });
    let inner = match node {
        Node::List(inner) => inner.as_mut(),
        other => other,
    };
    if let (Node::Struct(children), Some(rest)) = (inner, rest) {
        insert(children, rest, leaf);
    }
}

fn to_field(name: &str, node: &Node) -> Field {
    Field::new(name, to_type(node), true)
}

fn to_type(node: &Node) -> DataType {
    match node {
        Node::Leaf(t) => t.clone(),
        Node::Struct(children) => DataType::Struct(Fields::from(
            children
                .iter()
                .map(|(name, child)| to_field(name, child))
                .collect::<Vec<_>>(),
        )),
        Node::List(inner) => DataType::List(Arc::new(Field::new("element", to_type(inner), true))),
    }
}

/// The Arrow schema of class `uid`, or `None` for a class the table does not have.
pub fn class_schema(uid: u32) -> Option<Arc<Schema>> {
    schema_of(&TABLE, uid)
}

fn schema_of(table: &Table, uid: u32) -> Option<Arc<Schema>> {
    let class = table.class(uid)?;
    let mut tree = BTreeMap::new();
    for (path, kind) in HEADER {
        insert(&mut tree, path, data_type(*kind));
    }
    for group in class.groups.iter().filter_map(|g| table.groups.get(g)) {
        for field in &group.fields {
            // A split field's target is a list of its type.
            let to = match field.split {
                Some(_) => format!("{}[0]", field.to),
                None => field.to.clone(),
            };
            insert(&mut tree, &to, data_type(field.kind));
        }
    }
    Some(Arc::new(Schema::new(
        tree.iter()
            .map(|(name, node)| to_field(name, node))
            .collect::<Vec<_>>(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_a_schema_with_the_required_ocsf_columns() {
        for class in &TABLE.classes {
            let schema = class_schema(class.uid).expect("schema");
            for column in [
                "class_uid",
                "activity_id",
                "type_uid",
                "time",
                "severity_id",
                "metadata",
                "unmapped",
            ] {
                assert!(
                    schema.field_with_name(column).is_ok(),
                    "{} lacks {column}",
                    class.name
                );
            }
            assert_eq!(
                schema.field_with_name("time").unwrap().data_type(),
                &DataType::Int64
            );
            for required in &class.required {
                assert!(
                    schema.field_with_name(required).is_ok(),
                    "{} lacks {required}",
                    class.name
                );
            }
        }
    }

    #[test]
    fn lists_and_nested_structs_follow_the_target_paths() {
        let schema = class_schema(2004).unwrap();
        let DataType::List(item) = schema.field_with_name("evidences").unwrap().data_type() else {
            panic!("evidences is a list");
        };
        assert!(matches!(item.data_type(), DataType::Struct(_)));
        let DataType::Struct(info) = schema.field_with_name("finding_info").unwrap().data_type()
        else {
            panic!("finding_info is a struct");
        };
        assert!(matches!(
            info.find("types").unwrap().1.data_type(),
            DataType::List(_)
        ));
    }
}
