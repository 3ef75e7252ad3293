//! `rampart trail validate`: checks a trail's log and digest files offline, from the server's
//! data dir (its store, blobs and master key), with the verdicts of `aws cloudtrail
//! validate-logs` (`rampart_services::trails::validate`) and, beyond them, the files no digest
//! accounts for. Safe while the server runs: it only reads. With `--endpoint-url` it reads
//! through the API instead (`trail_api`).

use std::{collections::BTreeSet, path::PathBuf, process::ExitCode};

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use rampart_services::{
    blob_cipher::{BlobCipher, SEGMENT, TAG},
    s3::{repo, sse},
    trails::{
        destination, digest, keys,
        model::{self, DeliveryDoc, Trail},
        validate::{self, ChainPlan, Kind, Object, Report, Source},
    },
    BlobStore, Db,
};
use rampart_store::Store;

use crate::trail_api;

/// The `trail` subcommands.
#[derive(Debug, Subcommand)]
pub enum TrailCommand {
    /// Check a trail's digest and log files: signatures, the chain, hashes, missing and
    /// added files.
    Validate(ValidateArgs),
}

/// Options of `trail validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The trail's ARN.
    #[arg(long)]
    pub trail_arn: String,
    /// The server's data dir (its store and master key).
    #[arg(long, env = "RAMPART_DATA_DIR", default_value = "rampart-data")]
    pub data_dir: PathBuf,
    /// PostgreSQL URL, when the server uses PostgreSQL.
    #[arg(long, env = "RAMPART_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Folder of S3 object bytes (default: `s3` in the data dir).
    #[arg(long, env = "RAMPART_BLOB_DIR")]
    pub blob_dir: Option<PathBuf>,
    /// Print every file's verdict, not only the invalid ones.
    #[arg(long)]
    pub verbose: bool,
    /// Read the trail, its bucket and the public keys through this Rampart endpoint's API
    /// (`http://127.0.0.1:4566`), signed with the caller's credentials, instead of the data dir.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// With `--endpoint-url`: a shared-credentials file (default: the AWS_* variables, else
    /// `~/.aws/credentials`).
    #[arg(long, requires = "endpoint_url")]
    pub credentials_file: Option<PathBuf>,
    /// With `--endpoint-url`: the profile of the credentials file.
    #[arg(long, env = "AWS_PROFILE", default_value = "default")]
    pub profile: String,
}

/// Runs a `trail` subcommand: exit 0 when every file is valid, 1 otherwise.
pub fn run(cmd: TrailCommand) -> ExitCode {
    let TrailCommand::Validate(args) = cmd;
    match crate::offline::block_on(run_validate(&args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_validate(args: &ValidateArgs) -> anyhow::Result<bool> {
    if let Some(endpoint) = &args.endpoint_url {
        let Some((_, _, _)) = model::parse_arn(&args.trail_arn) else {
            bail!("{} is not a trail ARN", args.trail_arn);
        };
        let region = args.trail_arn.split(':').nth(3).unwrap_or_default();
        let credentials =
            trail_api::Credentials::load(args.credentials_file.as_deref(), &args.profile)?;
        let api = trail_api::Api::new(endpoint, credentials, region)?;
        let (bucket, report) = trail_api::validate_trail(api, &args.trail_arn).await?;
        print_report(&bucket, &report, args.verbose);
        return Ok(report.ok());
    }
    let store = crate::offline::open_store(&args.data_dir, args.database_url.as_deref()).await?;
    let blobs = BlobStore::new(
        args.blob_dir
            .clone()
            .unwrap_or_else(|| args.data_dir.join("s3")),
    );
    let result = validate_trail(&store, blobs, &args.trail_arn).await;
    store.close().await;
    let (bucket, report) = result?;
    print_report(&bucket, &report, args.verbose);
    Ok(report.ok())
}

fn print_report(bucket: &str, report: &Report, verbose: bool) {
    for v in &report.verdicts {
        if verbose || v.problem.is_some() {
            println!("{}", v.line(bucket));
        }
    }
    let (digests_ok, digests) = report.count(Kind::Digest);
    let (logs_ok, logs) = report.count(Kind::Log);
    println!("{digests_ok}/{digests} digest files valid");
    println!("{logs_ok}/{logs} log files valid");
    if report.undigested > 0 {
        println!(
            "{} log files delivered after the newest digest (not digested yet, not checked)",
            report.undigested
        );
    }
}

/// Validates every chain of the trail `arn` (per account and region): (its bucket, the
/// verdicts).
pub async fn validate_trail(
    store: &Store,
    blobs: BlobStore,
    arn: &str,
) -> anyhow::Result<(String, Report)> {
    let Some((_, account, name)) = model::parse_arn(arn) else {
        bail!("{arn} is not a trail ARN");
    };
    let mut db = Db::Read(store);
    let trail = model::find(&mut db, account, name)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the trail: {}", e.message))?
        .filter(|t| t.arn() == arn)
        .with_context(|| format!("no trail {arn}"))?;
    if !trail.doc.validation {
        bail!("trail {arn} does not have log file validation enabled");
    }
    let state = model::delivery(&mut db, arn)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the trail's state: {}", e.message))?
        .map(|(_, doc)| doc)
        .unwrap_or_default();
    let bucket = repo::find_bucket(&mut db, &trail.doc.bucket)
        .await
        .map_err(|_| anyhow::anyhow!("cannot read the bucket"))?
        .with_context(|| format!("bucket {} does not exist", trail.doc.bucket))?;
    let mut src = DataDir {
        store,
        blobs,
        bucket,
    };
    let mut report = Report::default();
    for plan in plans(&mut src, &trail, &state).await? {
        validate::validate_chain(&mut src, &trail.doc.bucket, &plan, &mut report)
            .await
            .map_err(anyhow::Error::msg)?;
    }
    Ok((trail.doc.bucket.clone(), report))
}

/// One plan per account and region the trail's state names or the bucket holds files for
/// under the trail's roots (the owner's, and for an organization trail every account's).
async fn plans(
    src: &mut DataDir<'_>,
    trail: &Trail,
    state: &DeliveryDoc,
) -> anyhow::Result<Vec<ChainPlan>> {
    let owner = trail.account();
    let org = trail.doc.organization_id.as_deref();
    let root_of = |account: &str| destination::logs_root(trail.doc.prefix.as_deref(), org, account);
    let own_root = root_of(owner);
    let base = own_root
        .strip_suffix(&format!("{owner}/"))
        .unwrap_or(&own_root)
        .to_string();
    let mut chains: BTreeSet<(String, String)> = state
        .chains
        .keys()
        .map(|k| {
            let (account, region) = digest::parse_chain_key(owner, k);
            (account.to_string(), region.to_string())
        })
        .collect();
    chains.extend(chains_in(src, &base, owner, org.is_some()).await?);
    Ok(chains
        .into_iter()
        .map(|(account, region)| {
            let chain = state
                .chains
                .get(&digest::chain_key(owner, &account, &region));
            ChainPlan {
                root: root_of(&account),
                head: chain
                    .and_then(|c| c.previous.as_ref())
                    .map(|p| p.key.clone()),
                state_known: true,
                pending: chain.map(|c| c.files.clone()).unwrap_or_default(),
                region,
            }
        })
        .collect())
}

/// The (account, region) chains the bucket holds files for under `base` (the trail's root
/// without its account): the owner's, and with `organization` any account's.
pub(crate) async fn chains_in<S: Source>(
    src: &mut S,
    base: &str,
    owner: &str,
    organization: bool,
) -> anyhow::Result<BTreeSet<(String, String)>> {
    let mut chains = BTreeSet::new();
    for key in src.list(base).await.map_err(anyhow::Error::msg)? {
        let mut parts = key.get(base.len()..).unwrap_or_default().split('/');
        let (Some(account), Some(dir), Some(region)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let ours = account == owner || (organization && is_account_id(account));
        if ours && (dir == "CloudTrail" || dir == "CloudTrail-Digest") {
            chains.insert((account.to_string(), region.to_string()));
        }
    }
    Ok(chains)
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The trail's bucket as the data dir holds it.
struct DataDir<'a> {
    store: &'a Store,
    blobs: BlobStore,
    bucket: repo::Bucket,
}

impl DataDir<'_> {
    /// The plaintext of an object's pieces.
    fn read_pieces(&self, object: &repo::Object) -> Result<Vec<u8>, String> {
        let key = match &object.doc.sse {
            None => None,
            Some(s) => Some(
                sse::open_master_key(s, self.store, self.bucket.name(), object.key())
                    .ok_or_else(|| format!("{}: its key opens only through KMS", object.key()))?,
            ),
        };
        let mut out = Vec::with_capacity(usize::try_from(object.doc.size).unwrap_or(0));
        for piece in &object.doc.pieces {
            let bytes = std::fs::read(self.blobs.path_of(&piece.blob))
                .map_err(|e| format!("{}: blob unreadable: {e}", object.key()))?;
            let Some(key) = &key else {
                out.extend_from_slice(&bytes);
                continue;
            };
            let cipher = BlobCipher::new(key, &piece.blob);
            for (index, sealed) in bytes.chunks(SEGMENT + TAG).enumerate() {
                let mut segment = sealed.to_vec();
                cipher
                    .open(index as u64, &mut segment)
                    .map_err(|_| format!("{}: blob does not authenticate", object.key()))?;
                out.extend_from_slice(&segment);
            }
        }
        Ok(out)
    }
}

impl Source for DataDir<'_> {
    async fn list(&mut self, prefix: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let (page, truncated) = repo::list_objects(
                &mut Db::Read(self.store),
                &self.bucket,
                prefix,
                after.as_deref(),
                1000,
            )
            .await
            .map_err(|_| "cannot list the bucket".to_string())?;
            after = page.last().map(|o| o.key().to_string());
            out.extend(
                page.iter()
                    .filter(|o| !o.doc.delete_marker)
                    .map(|o| o.key().to_string()),
            );
            if !truncated || after.is_none() {
                return Ok(out);
            }
        }
    }

    async fn fetch(&mut self, key: &str) -> Result<Option<Object>, String> {
        let found = repo::find_object(&mut Db::Read(self.store), &self.bucket, key)
            .await
            .map_err(|_| format!("cannot read {key}"))?;
        let Some(object) = found.filter(|o| !o.doc.delete_marker) else {
            return Ok(None);
        };
        Ok(Some(Object {
            body: self.read_pieces(&object)?,
            signature: object.doc.metadata.get("signature").cloned(),
        }))
    }

    async fn public_key(
        &mut self,
        region: &str,
        fingerprint: &str,
    ) -> Result<Option<Vec<u8>>, String> {
        let all = keys::public_keys(&mut Db::Read(self.store), region)
            .await
            .map_err(|_| "cannot read the public keys".to_string())?;
        Ok(all
            .into_iter()
            .find(|(f, _)| f == fingerprint)
            .map(|(_, der)| der))
    }
}
