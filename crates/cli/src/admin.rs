//! `jiekun admin`: bootstrap the first organisation and administrator, issue API keys. These run
//! on the server itself, as the `system` actor of the audit log.

use anyhow::{bail, Context};
use clap::Subcommand;
use jiekun_api::auth::{keys, password};
use jiekun_domain::access::{check_password, join_list, KeyScope, Role};
use jiekun_domain::{OrganisationKind, RegionCode};
use jiekun_store::audit::{self, Actor, NewEvent};
use jiekun_store::organisations::{self, NewOrganisation, OrganisationRow};
use jiekun_store::users::{self, NewUser, UserRow};
use jiekun_store::{api_keys, departments, DbConnection, Scope};

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create the root organisation (a city federation) and its first system administrator.
    Init {
        /// Name of the city federation.
        #[arg(long, default_value = "汉中市总工会")]
        organisation_name: String,
        /// Its GB/T 2260 prefecture-level code.
        #[arg(long, default_value = "610700")]
        region_code: String,
        /// Username of the administrator.
        #[arg(long, default_value = "admin")]
        username: String,
        /// The administrator's password; generated and printed once when absent.
        #[arg(long, env = "JIEKUN_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// API keys of partner departments.
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
}

#[derive(Subcommand)]
pub enum ApiKeyCommand {
    /// Issue a key; it is printed once and stored only as a hash.
    Create {
        /// The department's id.
        #[arg(long)]
        department_id: String,
        /// A name that says which system uses the key.
        #[arg(long)]
        name: String,
        /// A scope (repeatable): directory:read, verification:respond, referrals:read, referrals:write, assistance:write.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Days the key stays valid.
        #[arg(long, default_value_t = 365)]
        valid_days: i64,
        /// An allowed address or CIDR block (repeatable); none allows any address.
        #[arg(long = "allow")]
        allowed_addresses: Vec<String>,
        /// Requests per minute.
        #[arg(long, default_value_t = 120)]
        rate_limit: i64,
    },
}

pub fn system_event(
    action: &str,
    resource_type: &str,
    resource_id: &str,
    changes: serde_json::Value,
) -> NewEvent {
    NewEvent {
        actor: Actor {
            kind: "system",
            name: Some("jiekun cli".into()),
            ..Actor::default()
        },
        action: action.into(),
        resource_type: resource_type.into(),
        resource_id: Some(resource_id.into()),
        outcome: "success",
        request_id: None,
        source_address: None,
        changes: Some(jiekun_api::auth::redact(changes)),
    }
}

/// Creates an organisation as the system, audited.
pub fn create_organisation(
    conn: &mut DbConnection,
    new: &NewOrganisation,
) -> anyhow::Result<OrganisationRow> {
    let row = organisations::create(conn, &Scope::All, new)
        .map_err(|e| anyhow::anyhow!("{}: {e}", new.name))?;
    audit::append(
        conn,
        system_event(
            "organisation.create",
            "organisation",
            &row.id,
            serde_json::json!({"name": row.name, "kind": row.kind, "region_code": row.region_code}),
        ),
    )?;
    Ok(row)
}

/// Creates a user as the system, audited.
pub fn create_user(
    conn: &mut DbConnection,
    organisation_id: &str,
    username: &str,
    display_name: &str,
    plain_password: &str,
    roles: &[Role],
) -> anyhow::Result<UserRow> {
    check_password(plain_password).map_err(|e| anyhow::anyhow!("password {e}"))?;
    let hash = password::hash(plain_password).map_err(|e| anyhow::anyhow!(e))?;
    let row = users::create(
        conn,
        &NewUser {
            organisation_id: organisation_id.into(),
            username: username.into(),
            display_name: display_name.into(),
            password_hash: hash,
            roles: join_list(roles),
        },
    )?;
    audit::append(
        conn,
        system_event(
            "user.create",
            "user",
            &row.id,
            serde_json::json!({"username": username, "roles": row.roles, "organisation_id": organisation_id}),
        ),
    )?;
    Ok(row)
}

fn generated_password() -> String {
    let k = keys::mint();
    // 24 characters of URL-safe base64 with a fixed suffix guarantee mixed character classes.
    format!("{}-Jk9", &k.full[16..40])
}

pub fn run(command: AdminCommand, conn: &mut DbConnection) -> anyhow::Result<()> {
    match command {
        AdminCommand::Init {
            organisation_name,
            region_code,
            username,
            password,
        } => {
            let region = RegionCode::parse(&region_code).context("region code")?;
            let (password, generated) = match password {
                Some(p) => (p, false),
                None => (generated_password(), true),
            };
            let (org, user) = jiekun_store::write(conn, |conn| -> anyhow::Result<_> {
                if users::find_by_username(conn, &username)?.is_some() {
                    bail!("user {username} exists already: this database is initialised");
                }
                let org = match organisations::find_by_name(conn, None, &organisation_name)? {
                    Some(o) => o,
                    None => create_organisation(
                        conn,
                        &NewOrganisation {
                            parent_id: None,
                            kind: OrganisationKind::CityFederation,
                            union_type: None,
                            name: organisation_name.clone(),
                            short_name: None,
                            region_code: region,
                            address: None,
                        },
                    )?,
                };
                let user = create_user(
                    conn,
                    &org.id,
                    &username,
                    "系统管理员",
                    &password,
                    &[Role::SystemAdmin],
                )?;
                Ok((org, user))
            })?;
            say!(
                "organisation {} ({}) id {}",
                org.name,
                org.region_code,
                org.id
            );
            say!("system administrator {} id {}", user.username, user.id);
            if generated {
                say!("password (shown once): {password}");
            }
            Ok(())
        }
        AdminCommand::ApiKey {
            command:
                ApiKeyCommand::Create {
                    department_id,
                    name,
                    scopes,
                    valid_days,
                    allowed_addresses,
                    rate_limit,
                },
        } => {
            let scopes: Vec<KeyScope> = scopes
                .iter()
                .map(|s| {
                    s.parse::<KeyScope>()
                        .map_err(|_| anyhow::anyhow!("unknown scope {s}"))
                })
                .collect::<anyhow::Result<_>>()?;
            let allow = allowed_addresses.join(",");
            keys::parse_allow_list(&allow).map_err(|e| anyhow::anyhow!(e))?;
            if !(1..=6000).contains(&rate_limit) {
                bail!("--rate-limit must be between 1 and 6000");
            }
            let minted = keys::mint();
            let full = minted.full.clone();
            let now = jiekun_store::now();
            let row = jiekun_store::write(conn, |conn| -> anyhow::Result<_> {
                departments::get(conn, &Scope::All, &department_id)
                    .with_context(|| format!("department {department_id}"))?;
                let row = api_keys::create(
                    conn,
                    &api_keys::NewApiKey {
                        department_id: department_id.clone(),
                        name: name.clone(),
                        prefix: minted.prefix,
                        secret_hash: minted.secret_hash,
                        scopes: join_list(&scopes),
                        valid_from: now,
                        valid_until: Some(now + chrono::TimeDelta::days(valid_days)),
                        allowed_addresses: (!allow.is_empty()).then_some(allow.clone()),
                        rate_limit_per_minute: rate_limit,
                        created_by: "jiekun cli".into(),
                    },
                )?;
                audit::append(
                    conn,
                    system_event(
                        "api_key.create",
                        "api_key",
                        &row.id,
                        serde_json::json!({"department_id": department_id, "name": name, "scopes": row.scopes}),
                    ),
                )?;
                Ok(row)
            })?;
            say!("api key {} for department {}", row.id, row.department_id);
            say!("key (shown once): {full}");
            Ok(())
        }
    }
}
