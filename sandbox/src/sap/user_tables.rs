//! User-defined tables (UDTs) and fields (UDFs): `UserTablesMD`, `UserFieldsMD` and the entity
//! sets `U_<TableName>` of no-object tables, including the Service Layer restart a new table or
//! field needs before the Service Layer serves it.
//!
//! Sources (tags as in `../shared/reference/notes/sap-b1.md`):
//! - Shapes: the real v4 `$metadata` (M4, `sl-metadata-v4-odata4-fp22xx-customer.xml`):
//!   `UserTablesMD` {TableName (key), TableDescription, TableType: `BoUTBTableType`, Archivable,
//!   ArchiveDateField, DisplayMenu, ApplyAuthorization} (line ~15965), `UserFieldMD` {Name, Type:
//!   `BoFieldTypes`, Size, Description, SubType, LinkedTable, DefaultValue, TableName (key), FieldID
//!   (key), EditSize, Mandatory, …} (line ~15927), a no-object UDT `U_GA_PALETTENINFO` {Code (key),
//!   Name, U_*} (line ~23199), `BoUTBTableType` members (line ~1592), `BoFieldTypes` members
//!   db_Alpha, db_Memo, db_Numeric, db_Date, db_Float (line ~779).
//! - SDK (<https://help.sap.com/doc/089315d8d0f8475a9fc84fb919b501a3/10.0/en-US/SDKHelp/>):
//!   `SAPbobsCOM~UserTablesMD~TableName` "Length: 19 characters", the table is created with an upper
//!   case name and `@` prefixed, and is referred to with the `@`; `…~UserTablesMD_members`
//!   TableDescription "Length: 30 characters"; `…~UserTablesMD~Add`: a new table has the columns Code
//!   (primary key) and Name; `…~UserFieldsMD_members` Description "Length: 80 characters";
//!   `CUFD.html` AliasID (the field name) nVarChar 50.
//! - A no-object table is served as `POST b1s/v1/U_MYTBL {"Code","Name","U_F1"}`; a table of an
//!   object type is reached through its UDO instead (SAP Business One Support on SAP Community,
//!   <https://community.sap.com/t5/technology-q-a/create-records-in-a-user-table-using-the-service-layer-api/qaa-p/14039732>).
//! - UDF creation `POST /UserFieldsMD {"Name","Type","Size","Description","SubType","TableName"}`
//!   [WSL §3.14]; "New UDF/UDT/UDO invisible until SL restart" [WSL §7.2].
//! - Duplicate key: HTTP 400, `-2035` "This entry already exists in the following tables (ODBC
//!   -2035)" (notes §3, also for UDF duplicates).
//! - Too long values: "CServiceData::SetPropertyValueString failed; Value too long in property 'X'
//!   of 'Y'" is the text practitioners quote from Service Layer answers (several public
//!   integrations, e.g. for `'CardCode' of 'BusinessPartner'`, `'Title' of 'ContactEmployee'`).
//!
//! INVENTED (no SAP source found; also listed in `sandbox/README.md`):
//! - the error code `-5002` of "Value too long…" (only the text is documented);
//! - the answer to a second `POST UserTablesMD` of an existing name (`-2035`, the duplicate text);
//! - Code at most 50 and Name at most 100 characters on a no-object table row;
//! - `db_Alpha` size 1..=254 refused otherwise with `-10 "Invalid field size"`, default size 10;
//! - a UDF on an unknown `@TABLE` answered `-2028`;
//! - ETags on UDT rows: the real FP 22xx `$metadata` declares no `OptimisticConcurrency` on any
//!   `U_*` set and no `DataVersion` on their types, so SAP may well not support them; the sandbox
//!   serves a weak ETag computed from the row's content (changing a row back to an earlier content
//!   brings back its earlier ETag) and answers a stale `If-Match` with 412 / `-2039`;
//! - PATCH/DELETE of `UserTablesMD` / `UserFieldsMD` are refused with `-5006` (the sandbox does not
//!   model removing tables or fields);
//! - `POST /sandbox/admin/restart-service-layer` (the sandbox's stand-in for an administrator
//!   restarting the Service Layer service).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::schema::{Kind, TypeDef};
use super::store::{Entity, Key, SapDb, SetDef, UndoLog, set_def};
use super::udf::{self, FieldSpec, field_value};
use super::wire::{SapError, SapResponse, Version, entity_annotation, render};
use crate::{Sandbox, Shared};

/// What the running Service Layer knows of user tables and fields: those that existed when it
/// last (re)started.
#[derive(Debug, Default, Clone)]
pub struct Published {
    /// Table names without `@` (`MLC_KEYS`).
    tables: BTreeSet<String>,
    /// (`@MLC_KEYS`, `U_Key`).
    fields: BTreeSet<(String, String)>,
}

static USER_TABLES_MD: SetDef = SetDef {
    name: "UserTablesMD",
    type_name: "UserTablesMD",
    key: "TableName",
    int_key: false,
    series_start: None,
};

static USER_FIELDS_MD: SetDef = SetDef {
    name: "UserFieldsMD",
    type_name: "UserFieldMD",
    key: "FieldID",
    int_key: false,
    series_start: None,
};

// Enum-typed properties are declared as strings here and checked below: the generated enum list
// holds only the enums of the served sets.
static USER_TABLES_MD_TYPE: TypeDef = TypeDef {
    name: "UserTablesMD",
    key: &["TableName"],
    props: &[
        ("TableName", Kind::String),
        ("TableDescription", Kind::String),
        ("TableType", Kind::String),
        ("Archivable", Kind::Enum("BoYesNoEnum")),
        ("ArchiveDateField", Kind::String),
        ("DisplayMenu", Kind::Enum("BoYesNoEnum")),
        ("ApplyAuthorization", Kind::Enum("BoYesNoEnum")),
    ],
};

static USER_FIELD_MD_TYPE: TypeDef = TypeDef {
    name: "UserFieldMD",
    key: &["TableName", "FieldID"],
    props: &[
        ("Name", Kind::String),
        ("Type", Kind::String),
        ("Size", Kind::Int),
        ("Description", Kind::String),
        ("SubType", Kind::String),
        ("LinkedTable", Kind::String),
        ("DefaultValue", Kind::String),
        ("TableName", Kind::String),
        ("FieldID", Kind::Int),
        ("EditSize", Kind::Int),
        ("Mandatory", Kind::Enum("BoYesNoEnum")),
        ("LinkedUDO", Kind::String),
        ("LinkedSystemObject", Kind::String),
        (
            "ValidValuesMD",
            Kind::Other("Collection(SAPB1.ValidValueMD)"),
        ),
    ],
};

/// A row of a no-object user table: Code and Name, the `U_*` fields are dynamic (open type).
static USER_TABLE_ROW_TYPE: TypeDef = TypeDef {
    name: "UserTableRow",
    key: &["Code"],
    props: &[("Code", Kind::String), ("Name", Kind::String)],
};

const TABLE_TYPES: &[&str] = &[
    "bott_Document",
    "bott_DocumentLines",
    "bott_MasterData",
    "bott_MasterDataLines",
    "bott_NoObject",
    "bott_NoObjectAutoIncrement",
];

/// Table types served as `U_<TableName>`; the others belong to UDOs.
const NO_OBJECT: &[&str] = &["bott_NoObject", "bott_NoObjectAutoIncrement"];

const FIELD_TYPES: &[&str] = &["db_Alpha", "db_Memo", "db_Numeric", "db_Date", "db_Float"];

/// Types of the metadata sets and of `U_*` rows.
pub fn type_def(name: &str) -> Option<&'static TypeDef> {
    match name {
        "UserTablesMD" => Some(&USER_TABLES_MD_TYPE),
        "UserFieldMD" => Some(&USER_FIELD_MD_TYPE),
        n if n.starts_with("U_") => Some(&USER_TABLE_ROW_TYPE),
        _ => None,
    }
}

/// Whether `set` is `UserTablesMD` or `UserFieldsMD`.
pub fn is_metadata_set(set: &str) -> bool {
    set == USER_TABLES_MD.name || set == USER_FIELDS_MD.name
}

fn metadata_set_def(name: &str) -> Option<&'static SetDef> {
    [&USER_TABLES_MD, &USER_FIELDS_MD]
        .into_iter()
        .find(|d| d.name == name)
}

/// The set definition of `U_<TableName>`, made once per name for the life of the process (user
/// tables are few: names are at most 19 characters and created by hand).
fn row_set_def(set: &str) -> &'static SetDef {
    static DEFS: OnceLock<Mutex<HashMap<String, &'static SetDef>>> = OnceLock::new();
    let mut defs = DEFS
        .get_or_init(Default::default)
        .lock()
        .expect("user table defs");
    if let Some(d) = defs.get(set) {
        return d;
    }
    let name: &'static str = Box::leak(set.to_string().into_boxed_str());
    let def: &'static SetDef = Box::leak(Box::new(SetDef {
        name,
        type_name: name,
        key: "Code",
        int_key: false,
        series_start: None,
    }));
    defs.insert(set.to_string(), def);
    def
}

/// Any set a state file may hold besides the fixed ones.
pub(crate) fn stored_set_def(name: &str) -> Option<&'static SetDef> {
    metadata_set_def(name).or_else(|| name.starts_with("U_").then(|| row_set_def(name)))
}

/// Resolves an entity set name the way the running Service Layer does: the fixed sets, the
/// metadata sets, and `U_<TableName>` of the no-object tables it knew when it started.
pub fn resolve_set(db: &SapDb, name: &str) -> Option<&'static SetDef> {
    if let Some(d) = set_def(name).or_else(|| metadata_set_def(name)) {
        return Some(d);
    }
    let table = name.strip_prefix("U_")?;
    let no_object = db
        .master(USER_TABLES_MD.name, &Key::Str(table.to_string()))
        .and_then(|t| t.get("TableType"))
        .and_then(Value::as_str)
        .is_some_and(|t| NO_OBJECT.contains(&t));
    (db.published.tables.contains(table) && no_object).then(|| row_set_def(name))
}

/// The Service Layer (re)starts: it now serves every user table and field in the database.
pub fn restart(db: &mut SapDb) {
    let tables = db
        .masters(USER_TABLES_MD.name)
        .filter_map(|(k, _)| match k {
            Key::Str(s) => Some(s.clone()),
            Key::Int(_) => None,
        })
        .collect();
    let fields = db
        .masters(USER_FIELDS_MD.name)
        .filter_map(|(_, f)| Some((str_of(f, "TableName")?, format!("U_{}", str_of(f, "Name")?))))
        .collect();
    db.published = Published { tables, fields };
}

/// Whether the running Service Layer serves field `prop` (`U_Key`) of `table` (`@MLC_KEYS`,
/// `OINV`): it existed when the Service Layer last started.
pub(crate) fn serves_field(db: &SapDb, table: &str, prop: &str) -> bool {
    db.published
        .fields
        .contains(&(table.to_string(), prop.to_string()))
}

fn str_of(e: &Entity, k: &str) -> Option<String> {
    e.get(k).and_then(Value::as_str).map(str::to_string)
}

/// "CServiceData::SetPropertyValueString failed; Value too long in property 'X' of 'Y'" (text
/// from public Service Layer answers; the code `-5002` is INVENTED).
pub fn too_long(prop: &str, ty: &str) -> SapError {
    SapError::new(
        400,
        "-5002",
        format!(
            "CServiceData::SetPropertyValueString failed; Value too long in property '{prop}' of '{ty}'"
        ),
    )
}

fn duplicate() -> SapError {
    SapError::new(
        400,
        "-2035",
        "This entry already exists in the following tables (ODBC -2035)",
    )
}

/// PATCH/DELETE on the metadata sets (INVENTED: the sandbox does not remove or alter tables and
/// fields; code and text are SAP's for unsupported actions, WSL p26).
pub fn metadata_change_unsupported() -> SapError {
    SapError::new(
        400,
        "-5006",
        "The requested action is not supported for this object.",
    )
}

fn check_len(e: &Entity, prop: &str, ty: &str, max: usize) -> Result<(), SapError> {
    match e.get(prop).and_then(Value::as_str) {
        Some(s) if s.chars().count() > max => Err(too_long(prop, ty)),
        _ => Ok(()),
    }
}

fn required<'a>(e: &'a Entity, prop: &str) -> Result<&'a str, SapError> {
    e.get(prop)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| SapError::rule(format!("Specify the {prop} field")))
}

fn check_enum(e: &Entity, prop: &str, members: &[&str]) -> Result<(), SapError> {
    match e.get(prop).and_then(Value::as_str) {
        Some(s) if !members.contains(&s) => Err(SapError::malformed(format!(
            "Enumeration value '{s}' of property '{prop}' is not valid"
        ))),
        _ => Ok(()),
    }
}

/// `POST /UserTablesMD`: the table is in the database at once, served as `U_<TableName>` only
/// after the next Service Layer restart.
pub fn create_table(
    db: &mut SapDb,
    mut e: Entity,
    undo: &mut UndoLog,
) -> Result<(Key, Entity), SapError> {
    // SDK UserTablesMD~TableName: DI creates the table with an upper-case name.
    let name = required(&e, "TableName")?.to_uppercase();
    e.insert("TableName".into(), Value::from(name.clone()));
    check_len(&e, "TableName", "UserTablesMD", 19)?;
    check_len(&e, "TableDescription", "UserTablesMD", 30)?;
    check_enum(&e, "TableType", TABLE_TYPES)?;
    e.entry("TableType").or_insert(Value::from("bott_NoObject"));
    e.entry("TableDescription").or_insert(Value::from(""));
    for k in ["Archivable", "DisplayMenu", "ApplyAuthorization"] {
        e.entry(k).or_insert(Value::from("tNO"));
    }
    let key = Key::Str(name);
    if db.master(USER_TABLES_MD.name, &key).is_some() {
        // INVENTED: SAP's answer to a second table of the same name is not documented.
        return Err(duplicate());
    }
    db.put(USER_TABLES_MD.name, key.clone(), e.clone(), undo);
    Ok((key, e))
}

/// `POST /UserFieldsMD`: `TableName` is `@MLC_KEYS` for a user table or a system table name
/// (`OINV`). After the next Service Layer restart the field is a property of the types that table
/// feeds (`OINV`/`ORIN`: every `Document`, see [`super::udf`]); until then bodies and queries
/// naming it are refused.
pub fn create_field(
    db: &mut SapDb,
    mut e: Entity,
    undo: &mut UndoLog,
) -> Result<(Key, Entity), SapError> {
    let table = required(&e, "TableName")?.to_uppercase();
    let name = required(&e, "Name")?.to_string();
    if let Some(user_table) = table.strip_prefix('@')
        && db
            .master(USER_TABLES_MD.name, &Key::Str(user_table.to_string()))
            .is_none()
    {
        // INVENTED: the answer for an unknown user table.
        return Err(SapError::not_found(400));
    }
    e.insert("TableName".into(), Value::from(table.clone()));
    // CUFD.AliasID is nVarChar 50, CUFD.Descr nVarChar 80 (SDK).
    check_len(&e, "Name", "UserFieldMD", 50)?;
    check_len(&e, "Description", "UserFieldMD", 80)?;
    check_enum(&e, "Type", FIELD_TYPES)?;
    let ty = e
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or("db_Alpha")
        .to_string();
    e.insert("Type".into(), Value::from(ty.clone()));
    let size = e
        .get("EditSize")
        .or_else(|| e.get("Size"))
        .and_then(Value::as_i64);
    match ty.as_str() {
        "db_Alpha" => {
            // INVENTED: default 10 (the WSL §3.14 example sends 10) and the error text.
            let size = size.unwrap_or(10);
            if !(1..=254).contains(&size) {
                return Err(SapError::rule("Invalid field size"));
            }
            e.insert("Size".into(), Value::from(size));
            e.insert("EditSize".into(), Value::from(size));
        }
        "db_Numeric" => {
            let size = size.unwrap_or(11);
            e.insert("Size".into(), Value::from(size));
            e.insert("EditSize".into(), Value::from(size));
        }
        _ => {}
    }
    e.entry("SubType").or_insert(Value::from("st_None"));
    e.entry("Mandatory").or_insert(Value::from("tNO"));
    let on_table: Vec<&Entity> = db
        .masters(USER_FIELDS_MD.name)
        .map(|(_, f)| f)
        .filter(|f| f.get("TableName").and_then(Value::as_str) == Some(table.as_str()))
        .collect();
    if on_table
        .iter()
        .any(|f| f.get("Name").and_then(Value::as_str) == Some(name.as_str()))
    {
        return Err(duplicate());
    }
    let field_id = on_table.len() as i64;
    e.insert("FieldID".into(), Value::from(field_id));
    let key = Key::Str(format!("{table}|{field_id}"));
    db.put(USER_FIELDS_MD.name, key.clone(), e.clone(), undo);
    Ok((key, e))
}

/// The resource path of an entity: `Set(key)`, or the composite key of a UDF.
pub fn entity_path(def: &SetDef, key: &Key, e: &Entity) -> String {
    if def.name == USER_FIELDS_MD.name {
        let table = e.get("TableName").and_then(Value::as_str).unwrap_or("");
        let id = e.get("FieldID").and_then(Value::as_i64).unwrap_or(0);
        return format!(
            "UserFieldsMD(TableName='{}',FieldID={id})",
            table.replace('\'', "''")
        );
    }
    format!("{}({})", def.name, key.url_form())
}

/// `UserFieldsMD(TableName='@MLC_KEYS',FieldID=0)`: the composite key the generic path parser
/// does not read.
pub fn route_field_key(
    db: &SapDb,
    root: &str,
    version: Version,
    method: &str,
    rest: &str,
) -> Result<Option<SapResponse>, SapError> {
    let Some(args) = rest
        .strip_prefix("UserFieldsMD(")
        .and_then(|r| r.strip_suffix(')'))
    else {
        return Ok(None);
    };
    if method != "GET" {
        return Err(metadata_change_unsupported());
    }
    let mut table = None;
    let mut id = None;
    for part in args.split(',') {
        match part.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
            Some(("TableName", v)) => {
                table = v
                    .strip_prefix('\'')
                    .and_then(|v| v.strip_suffix('\''))
                    .map(|v| v.replace("''", "'"));
            }
            Some(("FieldID", v)) => id = v.parse::<i64>().ok(),
            _ => {}
        }
    }
    let (Some(table), Some(id)) = (table, id) else {
        return Err(SapError::malformed(format!("Invalid key '{args}'")));
    };
    let e = db
        .master(USER_FIELDS_MD.name, &Key::Str(format!("{table}|{id}")))
        .ok_or_else(|| SapError::not_found(404))?;
    let mut out = render(USER_FIELDS_MD.type_name, e, version);
    let (ak, av) = entity_annotation(version, root, USER_FIELDS_MD.name);
    out.insert(ak, av);
    Ok(Some(SapResponse::json(200, Value::Object(out))))
}

/// The fields of `@TABLE` the running Service Layer knows, by property name (`U_Key`).
fn served_fields(db: &SapDb, table: &str) -> BTreeMap<String, FieldSpec> {
    udf::served_fields(db, &format!("@{table}"))
}

fn check_row_lengths(e: &Entity, ty: &str) -> Result<(), SapError> {
    // INVENTED limits: Code 50, Name 100.
    check_len(e, "Code", ty, 50)?;
    check_len(e, "Name", ty, 100)
}

/// `POST /U_<TableName>`.
pub fn create_row(
    db: &mut SapDb,
    def: &'static SetDef,
    body: Entity,
    undo: &mut UndoLog,
) -> Result<(Key, Entity), SapError> {
    let table = def.name.trim_start_matches("U_");
    let fields = served_fields(db, table);
    let auto_increment = db
        .master(USER_TABLES_MD.name, &Key::Str(table.to_string()))
        .and_then(|t| t.get("TableType"))
        .and_then(Value::as_str)
        == Some("bott_NoObjectAutoIncrement");
    let mut e = Map::new();
    for (k, v) in &body {
        let value = if k.starts_with("U_") {
            field_value(&fields, def.type_name, k, v)?
        } else {
            v.clone()
        };
        e.insert(k.clone(), value);
    }
    check_row_lengths(&e, def.type_name)?;
    let code = match e
        .get("Code")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(c) => c.to_string(),
        None if auto_increment => {
            // [?] An auto-increment table numbers its rows; the sandbox numbers from 1.
            let mut n = db.next_numbers(def, undo).0;
            while db.contains(def.name, &Key::Str(n.to_string())) {
                n = db.next_numbers(def, undo).0;
            }
            e.insert("Code".into(), Value::from(n.to_string()));
            n.to_string()
        }
        None => return Err(SapError::rule("Specify the Code field")),
    };
    e.entry("Name").or_insert(Value::Null);
    for (prop, spec) in &fields {
        e.entry(prop.clone())
            .or_insert_with(|| spec.default.clone().unwrap_or(Value::Null));
    }
    let key = Key::Str(code);
    if db.contains(def.name, &key) {
        return Err(duplicate());
    }
    db.put(def.name, key.clone(), e.clone(), undo);
    Ok((key, e))
}

/// `PATCH /U_<TableName>('code')`: Code cannot change; fields are checked like on POST.
pub fn patch_row(
    db: &mut SapDb,
    def: &'static SetDef,
    key: &Key,
    patch: Entity,
    undo: &mut UndoLog,
) -> Result<(), SapError> {
    let table = def.name.trim_start_matches("U_");
    let fields = served_fields(db, table);
    let mut e = db
        .get(def.name, key)
        .map(std::borrow::Cow::into_owned)
        .ok_or_else(|| SapError::not_found(404))?;
    for (k, v) in patch {
        if k == "Code" {
            continue;
        }
        let value = if k.starts_with("U_") {
            field_value(&fields, def.type_name, &k, &v)?
        } else {
            v
        };
        e.insert(k, value);
    }
    check_row_lengths(&e, def.type_name)?;
    db.put(def.name, key.clone(), e, undo);
    Ok(())
}

/// The weak ETag of a user-table row, from its key and content (INVENTED, see the module docs).
pub fn row_etag(key: &Key, e: &Entity) -> String {
    let content = serde_json::to_string(e).unwrap_or_default();
    let h = key
        .url_form()
        .bytes()
        .chain([0])
        .chain(content.bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    format!("W/\"{h:016x}\"")
}

/// Restarts the fake Service Layer: new user tables and fields become visible, sessions end.
/// Returns the user tables it now knows.
pub(crate) fn restart_service_layer(shared: &Shared) -> Vec<String> {
    let tables = {
        let mut db = shared.sap.db.lock().expect("db");
        restart(&mut db);
        db.published.tables.iter().cloned().collect()
    };
    // A restarted Service Layer has no sessions: clients get 401 / 301 and log in again.
    shared.sap.sessions.expire_all();
    tables
}

/// `POST /sandbox/admin/restart-service-layer` (INVENTED, not part of SAP's API: the sandbox's
/// stand-in for an administrator restarting the Service Layer service).
pub(crate) async fn restart_endpoint(State(shared): State<Arc<Shared>>) -> Response {
    let tables = restart_service_layer(&shared);
    axum::Json(json!({"restarted": true, "userTables": tables})).into_response()
}

impl Sandbox {
    /// Restarts the fake Service Layer like an administrator would after adding user tables or
    /// fields (SAP: "new UDF/UDT/UDO invisible until SL restart"): `U_<TableName>` of every no-object
    /// table and every field now served; every session ends (401 / 301, clients log in again).
    /// `sandbox serve` users: `POST /sandbox/admin/restart-service-layer` on the Service Layer port.
    pub fn restart_service_layer(&self) -> Vec<String> {
        restart_service_layer(&self.shared)
    }

    /// The user tables the running Service Layer serves (names without `@`).
    pub fn sap_served_user_tables(&self) -> Vec<String> {
        let db = self.shared.sap.db.lock().expect("db");
        db.published.tables.iter().cloned().collect()
    }
}
