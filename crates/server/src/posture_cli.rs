//! `rampart posture`: the security score of an account in a region and its failed controls
//! by severity, read from Security Hub's control findings through a Rampart endpoint's API
//! (signed with the caller's credentials). AWS shows this score only in its console; this is
//! Rampart's view of it.

use std::{path::PathBuf, process::ExitCode};

use clap::Args;
use rampart_services::securityhub::{catalog, posture};
use serde_json::{json, Value};

use crate::trail_api::{Api, Credentials};

/// `rampart posture`'s arguments.
#[derive(Debug, Args)]
pub struct PostureArgs {
    /// The Rampart endpoint (`http://127.0.0.1:4566`).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: String,
    /// The region whose hub is read.
    #[arg(long, env = "AWS_DEFAULT_REGION", default_value = "us-east-1")]
    pub region: String,
    /// A shared-credentials file (default: the AWS_* variables, else `~/.aws/credentials`).
    #[arg(long)]
    pub credentials_file: Option<PathBuf>,
    /// The profile of the credentials file.
    #[arg(long, env = "AWS_PROFILE", default_value = "default")]
    pub profile: String,
    /// Scores only this standard (its `StandardsArn`, as `DescribeStandards` gives it).
    #[arg(long)]
    pub standards_arn: Option<String>,
}

/// Runs `rampart posture`: exit 0 when no control fails, 1 otherwise.
pub fn run(args: PostureArgs) -> ExitCode {
    match crate::offline::block_on(report(&args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Every active control finding of the hub.
async fn control_findings(api: &Api, region: &str) -> anyhow::Result<Vec<Value>> {
    let product = rampart_services::securityhub::controls::product_arn(region);
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({
            "Filters": {
                "ProductArn": [{"Value": product, "Comparison": "EQUALS"}],
                "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
            },
            "MaxResults": 100,
        });
        if let Some(t) = &token {
            rampart_services::securityhub::set(&mut input, "NextToken", json!(t));
        }
        let page = api
            .rest_json("securityhub", "POST", "/findings", &input)
            .await?;
        out.extend(
            page.get("Findings")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        );
        token = page
            .get("NextToken")
            .and_then(Value::as_str)
            .map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

async fn report(args: &PostureArgs) -> anyhow::Result<bool> {
    let credentials = Credentials::load(args.credentials_file.as_deref(), &args.profile)?;
    let api = Api::new(&args.endpoint_url, credentials, &args.region)?;
    let findings = control_findings(&api, &args.region).await?;
    let p = match &args.standards_arn {
        Some(arn) => {
            let s = catalog::standard_of_arn(arn, &args.region)
                .ok_or_else(|| anyhow::anyhow!("{arn} is not a standard in {}", args.region))?;
            posture::of_standard(&findings, s.key)
        }
        None => posture::of(&findings),
    };
    let total = p.passed + p.failed.len();
    match p.score() {
        Some(s) => println!(
            "Security score: {s}% ({} of {total} controls passed)",
            p.passed
        ),
        None => println!("Security score: no data (no control has results yet)"),
    }
    let mut severity = "";
    for c in &p.failed {
        if c.severity != severity {
            severity = &c.severity;
            println!("{severity}");
        }
        let s = if c.failed_resources == 1 { "" } else { "s" };
        println!(
            "  {:<18} {} ({} resource{s})",
            c.id, c.title, c.failed_resources
        );
    }
    Ok(p.failed.is_empty())
}
