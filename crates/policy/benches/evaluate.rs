//! Per-decision evaluation benchmarks: a realistic principal (10 policies, 50 statements) and a
//! large account (1,000 policies, 10,000 statements), each run through rampart-policy and,
//! side by side, through the `iam-rs` crate with the same policies and requests.
//!
//! Policies are parsed and compiled once, outside the timed loop; each timed iteration is one
//! call to the engine's evaluate function with a request built beforehand. Before timing, the
//! bench asserts that both engines reach the same decision on every request.
//!
//! After criterion's runs, the bench prints its own p50 / p99 per decision (batches of
//! `BATCH` evaluations timed with `Instant`, divided by `BATCH`).
//!
//! Run: `cargo bench -p rampart-policy --bench evaluate`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    reason = "test and bench code, not the request path"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use rampart_policy::{
    evaluate, Context, Outcome, Policy, PolicyKind, PolicyLayer, PolicySet, Principal, Request,
};

const ACCOUNT: &str = "111122223333";
const USER_ARN: &str = "arn:aws:iam::111122223333:user/alice";

// ---------------------------------------------------------------------------------------------
// Realistic principal: 10 attached identity policies, 50 statements.
// ---------------------------------------------------------------------------------------------

fn realistic_policies() -> Vec<(String, String)> {
    let p = |name: &str, stmts: &[&str]| {
        (
            name.to_string(),
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
                stmts.join(",")
            ),
        )
    };
    vec![
        p(
            "BaseReadOnly",
            &[
                r#"{"Sid":"DescribeEc2","Effect":"Allow","Action":"ec2:Describe*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}}"#,
                r#"{"Sid":"CloudWatchRead","Effect":"Allow","Action":["cloudwatch:GetMetricData","cloudwatch:ListMetrics","cloudwatch:DescribeAlarms"],"Resource":"*"}"#,
                r#"{"Sid":"LogsRead","Effect":"Allow","Action":["logs:GetLogEvents","logs:FilterLogEvents"],"Resource":"arn:aws:logs:us-east-1:111122223333:log-group:/app/${aws:PrincipalTag/team}/*"}"#,
                r#"{"Sid":"IamSelf","Effect":"Allow","Action":["iam:GetUser","iam:ListAccessKeys","iam:ChangePassword"],"Resource":"arn:aws:iam::111122223333:user/${aws:username}"}"#,
                r#"{"Sid":"StsCaller","Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}"#,
                r#"{"Sid":"TagRead","Effect":"Allow","Action":"tag:GetResources","Resource":"*"}"#,
            ],
        ),
        p(
            "S3Home",
            &[
                r#"{"Sid":"ListHome","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::corp-home"}"#,
                r#"{"Sid":"HomeRW","Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::corp-home/${aws:username}/*"}"#,
                r#"{"Sid":"TeamRead","Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::team-${aws:PrincipalTag/team}/*"}"#,
                r#"{"Sid":"TeamWrite","Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::team-${aws:PrincipalTag/team}/uploads/*","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","198.51.100.0/24"]}}}"#,
                r#"{"Sid":"BucketList","Effect":"Allow","Action":["s3:ListAllMyBuckets","s3:GetBucketLocation"],"Resource":"*"}"#,
            ],
        ),
        p(
            "DynamoTeam",
            &[
                r#"{"Sid":"TeamTables","Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:Query","dynamodb:Scan","dynamodb:BatchGetItem"],"Resource":"arn:aws:dynamodb:us-east-1:111122223333:table/${aws:PrincipalTag/team}-*"}"#,
                r#"{"Sid":"TeamWrite","Effect":"Allow","Action":["dynamodb:PutItem","dynamodb:UpdateItem"],"Resource":"arn:aws:dynamodb:us-east-1:111122223333:table/${aws:PrincipalTag/team}-*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}"#,
                r#"{"Sid":"DescribeTables","Effect":"Allow","Action":["dynamodb:DescribeTable","dynamodb:ListTables"],"Resource":"*"}"#,
                r#"{"Sid":"Streams","Effect":"Allow","Action":["dynamodb:GetRecords","dynamodb:GetShardIterator"],"Resource":"arn:aws:dynamodb:us-east-1:111122223333:table/${aws:PrincipalTag/team}-*/stream/*"}"#,
                r#"{"Sid":"NoDeleteTable","Effect":"Deny","Action":"dynamodb:DeleteTable","Resource":"*"}"#,
            ],
        ),
        p(
            "LambdaTeam",
            &[
                r#"{"Sid":"Invoke","Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:111122223333:function:${aws:PrincipalTag/team}-*"}"#,
                r#"{"Sid":"Read","Effect":"Allow","Action":["lambda:Get*","lambda:List*"],"Resource":"*"}"#,
                r#"{"Sid":"Update","Effect":"Allow","Action":["lambda:UpdateFunctionCode","lambda:UpdateFunctionConfiguration"],"Resource":"arn:aws:lambda:*:111122223333:function:${aws:PrincipalTag/team}-*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}"#,
                r#"{"Sid":"PassRole","Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111122223333:role/${aws:PrincipalTag/team}-lambda-*"}"#,
                r#"{"Sid":"Logs","Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:*:111122223333:log-group:/aws/lambda/*"}"#,
            ],
        ),
        p(
            "Messaging",
            &[
                r#"{"Sid":"SqsTeam","Effect":"Allow","Action":["sqs:SendMessage","sqs:ReceiveMessage","sqs:DeleteMessage","sqs:GetQueueAttributes"],"Resource":"arn:aws:sqs:us-east-1:111122223333:${aws:PrincipalTag/team}-*"}"#,
                r#"{"Sid":"SqsList","Effect":"Allow","Action":"sqs:ListQueues","Resource":"*"}"#,
                r#"{"Sid":"SnsPublish","Effect":"Allow","Action":"sns:Publish","Resource":"arn:aws:sns:us-east-1:111122223333:alerts-*"}"#,
                r#"{"Sid":"SnsRead","Effect":"Allow","Action":["sns:List*","sns:GetTopicAttributes"],"Resource":"*"}"#,
                r#"{"Sid":"NoPurge","Effect":"Deny","Action":["sqs:PurgeQueue","sqs:DeleteQueue"],"Resource":"*"}"#,
            ],
        ),
        p(
            "KeysAndSecrets",
            &[
                r#"{"Sid":"UseKeys","Effect":"Allow","Action":["kms:Decrypt","kms:Encrypt","kms:GenerateDataKey"],"Resource":"arn:aws:kms:us-east-1:111122223333:key/*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}"#,
                r#"{"Sid":"DescribeKeys","Effect":"Allow","Action":["kms:DescribeKey","kms:ListAliases","kms:ListKeys"],"Resource":"*"}"#,
                r#"{"Sid":"NoKeyAdmin","Effect":"Deny","Action":["kms:ScheduleKeyDeletion","kms:DisableKey","kms:PutKeyPolicy"],"Resource":"*"}"#,
                r#"{"Sid":"TeamSecrets","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:${aws:PrincipalTag/team}/*"}"#,
                r#"{"Sid":"ListSecrets","Effect":"Allow","Action":"secretsmanager:ListSecrets","Resource":"*"}"#,
            ],
        ),
        p(
            "Guardrails",
            &[
                r#"{"Sid":"DenyOutsideRegions","Effect":"Deny","NotAction":["iam:*","sts:*","cloudfront:*","route53:*","support:*","organizations:*"],"Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}}"#,
                r#"{"Sid":"DenyInsecureS3","Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
                r#"{"Sid":"DenyIamWrite","Effect":"Deny","Action":["iam:Create*","iam:Delete*","iam:Attach*","iam:Put*"],"Resource":"*"}"#,
                r#"{"Sid":"DenyLeaveOrg","Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}"#,
                r#"{"Sid":"DenyTrailTamper","Effect":"Deny","Action":["cloudtrail:StopLogging","cloudtrail:DeleteTrail"],"Resource":"*"}"#,
            ],
        ),
        p(
            "Ec2Team",
            &[
                r#"{"Sid":"StartStop","Effect":"Allow","Action":["ec2:StartInstances","ec2:StopInstances","ec2:RebootInstances"],"Resource":"arn:aws:ec2:us-east-1:111122223333:instance/*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}"#,
                r#"{"Sid":"Run","Effect":"Allow","Action":"ec2:RunInstances","Resource":["arn:aws:ec2:*:111122223333:instance/*","arn:aws:ec2:*::image/ami-*","arn:aws:ec2:*:111122223333:subnet/*","arn:aws:ec2:*:111122223333:network-interface/*","arn:aws:ec2:*:111122223333:security-group/*","arn:aws:ec2:*:111122223333:volume/*"]}"#,
                r#"{"Sid":"Volumes","Effect":"Allow","Action":["ec2:CreateVolume","ec2:AttachVolume","ec2:DetachVolume"],"Resource":"arn:aws:ec2:us-east-1:111122223333:volume/*"}"#,
                r#"{"Sid":"SecurityGroups","Effect":"Allow","Action":["ec2:AuthorizeSecurityGroupIngress","ec2:RevokeSecurityGroupIngress"],"Resource":"arn:aws:ec2:us-east-1:111122223333:security-group/*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}"#,
                r#"{"Sid":"NoTerminate","Effect":"Deny","Action":"ec2:TerminateInstances","Resource":"*"}"#,
            ],
        ),
        p(
            "Observability",
            &[
                r#"{"Sid":"XRay","Effect":"Allow","Action":["xray:PutTraceSegments","xray:PutTelemetryRecords"],"Resource":"*"}"#,
                r#"{"Sid":"Metrics","Effect":"Allow","Action":"cloudwatch:PutMetricData","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}"#,
                r#"{"Sid":"Params","Effect":"Allow","Action":["ssm:GetParameter","ssm:GetParameters","ssm:GetParametersByPath"],"Resource":"arn:aws:ssm:us-east-1:111122223333:parameter/${aws:PrincipalTag/team}/*"}"#,
                r#"{"Sid":"DescribeParams","Effect":"Allow","Action":"ssm:DescribeParameters","Resource":"*"}"#,
                r#"{"Sid":"EcrToken","Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}"#,
            ],
        ),
        p(
            "Containers",
            &[
                r#"{"Sid":"Pull","Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"],"Resource":"arn:aws:ecr:us-east-1:111122223333:repository/${aws:PrincipalTag/team}/*"}"#,
                r#"{"Sid":"Push","Effect":"Allow","Action":["ecr:PutImage","ecr:InitiateLayerUpload","ecr:UploadLayerPart","ecr:CompleteLayerUpload"],"Resource":"arn:aws:ecr:us-east-1:111122223333:repository/${aws:PrincipalTag/team}/*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}"#,
                r#"{"Sid":"EcsRead","Effect":"Allow","Action":["ecs:Describe*","ecs:List*"],"Resource":"*"}"#,
                r#"{"Sid":"EcsDeploy","Effect":"Allow","Action":"ecs:UpdateService","Resource":"arn:aws:ecs:us-east-1:111122223333:service/${aws:PrincipalTag/team}-cluster/*"}"#,
            ],
        ),
    ]
}

/// A request shared by both engines: action, resource, region, secure transport, source IP.
#[derive(Clone)]
struct Req {
    label: String,
    action: String,
    resource: String,
    region: &'static str,
    secure: bool,
    ip: &'static str,
}

fn req(label: &str, action: &str, resource: &str, region: &'static str, secure: bool) -> Req {
    Req {
        label: label.to_string(),
        action: action.to_string(),
        resource: resource.to_string(),
        region,
        secure,
        ip: "203.0.113.10",
    }
}

fn realistic_requests() -> Vec<Req> {
    vec![
        req(
            "allow_s3_home_var",
            "s3:GetObject",
            "arn:aws:s3:::corp-home/alice/reports/q3.pdf",
            "us-east-1",
            true,
        ),
        req(
            "allow_dynamodb_tag_var",
            "dynamodb:Query",
            "arn:aws:dynamodb:us-east-1:111122223333:table/payments-orders",
            "us-east-1",
            true,
        ),
        req(
            "allow_s3_put_ip_cond",
            "s3:PutObject",
            "arn:aws:s3:::team-payments/uploads/batch-17.csv",
            "us-east-1",
            true,
        ),
        req(
            "allow_ec2_describe_region",
            "ec2:DescribeInstances",
            "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc1234",
            "us-east-1",
            true,
        ),
        req(
            "implicit_s3_other_home",
            "s3:GetObject",
            "arn:aws:s3:::corp-home/bob/secret.txt",
            "us-east-1",
            true,
        ),
        req(
            "implicit_kms_createkey",
            "kms:CreateKey",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd",
            "us-east-1",
            true,
        ),
        req(
            "implicit_sqs_other_team",
            "sqs:SendMessage",
            "arn:aws:sqs:us-east-1:111122223333:billing-jobs",
            "us-east-1",
            true,
        ),
        req(
            "deny_notaction_region",
            "ec2:RunInstances",
            "arn:aws:ec2:ap-south-1:111122223333:instance/i-0def5678",
            "ap-south-1",
            true,
        ),
        req(
            "deny_iam_write",
            "iam:CreateUser",
            "arn:aws:iam::111122223333:user/mallory",
            "us-east-1",
            true,
        ),
        req(
            "deny_insecure_transport",
            "s3:GetObject",
            "arn:aws:s3:::corp-home/alice/reports/q3.pdf",
            "us-east-1",
            false,
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Large account: 1,000 policies x 10 statements, generated deterministically.
// ---------------------------------------------------------------------------------------------

/// (service, actions, resource ARN prefix; the resource name is appended).
const SERVICES: &[(&str, &[&str], &str)] = &[
    (
        "s3",
        &[
            "GetObject",
            "PutObject",
            "DeleteObject",
            "ListBucket",
            "GetObjectVersion",
            "GetBucketPolicy",
            "PutBucketPolicy",
            "GetObjectTagging",
            "PutObjectTagging",
            "AbortMultipartUpload",
            "ListMultipartUploadParts",
            "GetBucketLocation",
        ],
        "arn:aws:s3:::",
    ),
    (
        "ec2",
        &[
            "DescribeInstances",
            "StartInstances",
            "StopInstances",
            "RebootInstances",
            "TerminateInstances",
            "RunInstances",
            "CreateTags",
            "DeleteTags",
            "DescribeVolumes",
            "AttachVolume",
            "DetachVolume",
            "ModifyInstanceAttribute",
        ],
        "arn:aws:ec2:us-east-1:111122223333:instance/",
    ),
    (
        "dynamodb",
        &[
            "GetItem",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "Query",
            "Scan",
            "BatchGetItem",
            "BatchWriteItem",
            "DescribeTable",
            "UpdateTable",
            "DeleteTable",
            "ConditionCheckItem",
        ],
        "arn:aws:dynamodb:us-east-1:111122223333:table/",
    ),
    (
        "lambda",
        &[
            "InvokeFunction",
            "GetFunction",
            "UpdateFunctionCode",
            "UpdateFunctionConfiguration",
            "DeleteFunction",
            "ListVersionsByFunction",
            "PublishVersion",
            "GetPolicy",
            "AddPermission",
            "RemovePermission",
        ],
        "arn:aws:lambda:us-east-1:111122223333:function:",
    ),
    (
        "sqs",
        &[
            "SendMessage",
            "ReceiveMessage",
            "DeleteMessage",
            "GetQueueAttributes",
            "SetQueueAttributes",
            "PurgeQueue",
            "DeleteQueue",
            "ChangeMessageVisibility",
            "GetQueueUrl",
        ],
        "arn:aws:sqs:us-east-1:111122223333:",
    ),
    (
        "sns",
        &[
            "Publish",
            "Subscribe",
            "Unsubscribe",
            "GetTopicAttributes",
            "SetTopicAttributes",
            "DeleteTopic",
            "ListSubscriptionsByTopic",
        ],
        "arn:aws:sns:us-east-1:111122223333:",
    ),
    (
        "kms",
        &[
            "Decrypt",
            "Encrypt",
            "GenerateDataKey",
            "ReEncryptFrom",
            "ReEncryptTo",
            "DescribeKey",
            "CreateGrant",
            "RetireGrant",
            "ScheduleKeyDeletion",
            "DisableKey",
            "EnableKey",
            "GetKeyPolicy",
        ],
        "arn:aws:kms:us-east-1:111122223333:key/",
    ),
    (
        "iam",
        &[
            "GetRole",
            "PassRole",
            "CreateRole",
            "DeleteRole",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "PutRolePolicy",
            "GetRolePolicy",
            "UpdateAssumeRolePolicy",
            "TagRole",
            "ListRoleTags",
        ],
        "arn:aws:iam::111122223333:role/",
    ),
    (
        "logs",
        &[
            "CreateLogStream",
            "PutLogEvents",
            "GetLogEvents",
            "FilterLogEvents",
            "DescribeLogStreams",
            "DeleteLogGroup",
            "PutRetentionPolicy",
        ],
        "arn:aws:logs:us-east-1:111122223333:log-group:/app/",
    ),
    (
        "secretsmanager",
        &[
            "GetSecretValue",
            "PutSecretValue",
            "DescribeSecret",
            "UpdateSecret",
            "DeleteSecret",
            "RotateSecret",
            "TagResource",
        ],
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:",
    ),
    (
        "ssm",
        &[
            "GetParameter",
            "GetParameters",
            "GetParametersByPath",
            "PutParameter",
            "DeleteParameter",
            "LabelParameterVersion",
        ],
        "arn:aws:ssm:us-east-1:111122223333:parameter/",
    ),
    (
        "ecr",
        &[
            "BatchGetImage",
            "GetDownloadUrlForLayer",
            "BatchCheckLayerAvailability",
            "PutImage",
            "InitiateLayerUpload",
            "UploadLayerPart",
            "CompleteLayerUpload",
            "DescribeImages",
            "ListImages",
        ],
        "arn:aws:ecr:us-east-1:111122223333:repository/",
    ),
    (
        "ecs",
        &[
            "UpdateService",
            "DescribeServices",
            "CreateService",
            "DeleteService",
            "RunTask",
            "StopTask",
            "DescribeTasks",
        ],
        "arn:aws:ecs:us-east-1:111122223333:service/",
    ),
    (
        "kinesis",
        &[
            "PutRecord",
            "PutRecords",
            "GetRecords",
            "GetShardIterator",
            "DescribeStream",
            "ListShards",
            "DeleteStream",
        ],
        "arn:aws:kinesis:us-east-1:111122223333:stream/",
    ),
    (
        "rds",
        &[
            "DescribeDBInstances",
            "StartDBInstance",
            "StopDBInstance",
            "RebootDBInstance",
            "CreateDBSnapshot",
            "DeleteDBInstance",
            "ModifyDBInstance",
        ],
        "arn:aws:rds:us-east-1:111122223333:db:",
    ),
    (
        "cloudwatch",
        &[
            "PutMetricAlarm",
            "DeleteAlarms",
            "DescribeAlarms",
            "SetAlarmState",
            "EnableAlarmActions",
            "DisableAlarmActions",
        ],
        "arn:aws:cloudwatch:us-east-1:111122223333:alarm:",
    ),
    (
        "states",
        &[
            "StartExecution",
            "StopExecution",
            "DescribeExecution",
            "DescribeStateMachine",
            "UpdateStateMachine",
            "DeleteStateMachine",
        ],
        "arn:aws:states:us-east-1:111122223333:stateMachine:",
    ),
    (
        "glue",
        &[
            "GetTable",
            "GetTables",
            "CreateTable",
            "UpdateTable",
            "DeleteTable",
            "GetPartitions",
            "BatchCreatePartition",
        ],
        "arn:aws:glue:us-east-1:111122223333:table/",
    ),
    (
        "athena",
        &[
            "StartQueryExecution",
            "GetQueryExecution",
            "GetQueryResults",
            "StopQueryExecution",
            "GetWorkGroup",
        ],
        "arn:aws:athena:us-east-1:111122223333:workgroup/",
    ),
    (
        "elasticloadbalancing",
        &[
            "DescribeLoadBalancers",
            "ModifyLoadBalancerAttributes",
            "RegisterTargets",
            "DeregisterTargets",
            "DeleteLoadBalancer",
            "AddTags",
        ],
        "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/",
    ),
];

/// Number of distinct resource names per service (`app-0` .. `app-N`).
const NAMES: u64 = 400;
/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Skewed towards small indexes (popular services are used more).
    fn skewed(&mut self, n: u64) -> u64 {
        self.below(n).min(self.below(n))
    }
}

fn pick_actions(rng: &mut Rng, svc: &str, actions: &[&str], max: u64) -> Vec<String> {
    let n = 1 + rng.below(max);
    let mut out: Vec<String> = Vec::new();
    for _ in 0..n {
        let a = format!(
            "{svc}:{}",
            actions[rng.below(actions.len() as u64) as usize]
        );
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

fn json_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
    if quoted.len() == 1 {
        quoted[0].clone()
    } else {
        format!("[{}]", quoted.join(","))
    }
}

fn large_statement(rng: &mut Rng, p: usize, s: usize) -> String {
    let (svc, actions, prefix) = SERVICES[rng.skewed(SERVICES.len() as u64) as usize];
    let name = format!("app-{}", rng.below(NAMES));
    let sid = format!("P{p}S{s}");
    let kind = rng.below(100);
    let (effect, action_key, action, resource, condition) = match kind {
        // Specific actions on specific resources (the bulk of real policies).
        0..=49 => {
            let res = if rng.below(3) == 0 {
                vec![format!("{prefix}{name}"), format!("{prefix}{name}/*")]
            } else {
                vec![format!("{prefix}{name}")]
            };
            (
                "Allow",
                "Action",
                pick_actions(rng, svc, actions, 4),
                res,
                None,
            )
        }
        // Prefix-wildcard actions (Get*, Describe*, ...) on a name prefix.
        50..=64 => {
            let a = actions[rng.below(actions.len() as u64) as usize];
            let verb_len = a[1..]
                .find(|c: char| c.is_ascii_uppercase())
                .map_or(a.len(), |i| i + 1);
            let act = format!("{svc}:{}*", &a[..verb_len]);
            let res = format!("{prefix}app-{}*", rng.below(NAMES / 10));
            ("Allow", "Action", vec![act], vec![res], None)
        }
        // Policy variables in the resource.
        65..=74 => {
            let res = if rng.below(2) == 0 {
                format!("{prefix}${{aws:PrincipalTag/team}}-*")
            } else {
                format!("{prefix}home-${{aws:username}}")
            };
            (
                "Allow",
                "Action",
                pick_actions(rng, svc, actions, 3),
                vec![res],
                None,
            )
        }
        // Conditions.
        75..=84 => {
            let cond = match rng.below(3) {
                0 => r#"{"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}"#
                    .to_string(),
                1 => format!(
                    r#"{{"IpAddress":{{"aws:SourceIp":"{}.0.113.0/24"}}}}"#,
                    200 + rng.below(4)
                ),
                _ => r#"{"Bool":{"aws:SecureTransport":"true"}}"#.to_string(),
            };
            (
                "Allow",
                "Action",
                pick_actions(rng, svc, actions, 3),
                vec![format!("{prefix}{name}")],
                Some(cond),
            )
        }
        // Explicit denies on specific resources.
        85..=92 => (
            "Deny",
            "Action",
            pick_actions(rng, svc, actions, 2),
            vec![format!("{prefix}{name}")],
            None,
        ),
        // Service wildcard on a specific resource.
        93..=95 => (
            "Allow",
            "Action",
            vec![format!("{svc}:*")],
            vec![format!("{prefix}{name}*")],
            None,
        ),
        // Read-only action on every resource.
        _ => (
            "Allow",
            "Action",
            pick_actions(rng, svc, actions, 2),
            vec!["*".to_string()],
            None,
        ),
    };
    let cond = condition
        .map(|c| format!(r#","Condition":{c}"#))
        .unwrap_or_default();
    format!(
        r#"{{"Sid":"{sid}","Effect":"{effect}","{action_key}":{},"Resource":{}{cond}}}"#,
        json_list(&action),
        json_list(&resource)
    )
}

fn large_policies() -> Vec<(String, String)> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..1000)
        .map(|p| {
            let mut stmts: Vec<String> = (0..10).map(|s| large_statement(&mut rng, p, s)).collect();
            // One policy in a hundred carries a region guardrail (Deny with NotAction), which
            // every request has to look at.
            if p % 100 == 7 {
                stmts[9] = format!(
                    r#"{{"Sid":"P{p}Guard","Effect":"Deny","NotAction":["iam:*","sts:*","cloudfront:*"],"Resource":"*","Condition":{{"StringNotEquals":{{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}}}}}"#
                );
            }
            (
                format!("Large{p}"),
                format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, stmts.join(",")),
            )
        })
        .collect()
}

/// Candidate requests drawn from the same catalogue; the bench keeps a few of each outcome.
fn large_candidates() -> Vec<Req> {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut out = Vec::new();
    for i in 0..4000 {
        let (svc, actions, prefix) = SERVICES[rng.skewed(SERVICES.len() as u64) as usize];
        let a = actions[rng.below(actions.len() as u64) as usize];
        let name = match rng.below(10) {
            0 => "payments-api".to_string(),
            1 => "home-alice".to_string(),
            _ => format!("app-{}", rng.below(NAMES)),
        };
        let region = if rng.below(20) == 0 {
            "ap-south-1"
        } else {
            "us-east-1"
        };
        let mut r = req(
            &format!("c{i}"),
            &format!("{svc}:{a}"),
            &format!("{prefix}{name}"),
            region,
            true,
        );
        if rng.below(10) == 0 {
            r.secure = false;
        }
        out.push(r);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The two engines.
// ---------------------------------------------------------------------------------------------

fn rampart_layer(docs: &[(String, String)]) -> PolicySet {
    let policies = docs
        .iter()
        .map(|(name, json)| {
            Arc::new(
                Policy::parse(json, PolicyKind::Identity)
                    .unwrap_or_else(|e| panic!("{name}: {e}"))
                    .with_name(name.clone()),
            )
        })
        .collect();
    PolicySet {
        identity: PolicyLayer::new(policies),
        ..Default::default()
    }
}

fn rampart_request(r: &Req) -> Request {
    let principal = Principal::from_arn(USER_ARN);
    let mut ctx = Context::new();
    principal.fill_context(&mut ctx);
    ctx.set("aws:PrincipalTag/team", "payments");
    ctx.set("aws:RequestedRegion", r.region);
    ctx.set("aws:SourceIp", r.ip);
    ctx.set(
        "aws:SecureTransport",
        if r.secure { "true" } else { "false" },
    );
    Request::new(
        principal,
        &r.action,
        &r.resource,
        Some(ACCOUNT.to_string()),
        ctx,
    )
}

fn iamrs_evaluator(docs: &[(String, String)]) -> iam_rs::PolicyEvaluator {
    let policies = docs
        .iter()
        .map(|(name, json)| {
            iam_rs::IAMPolicy::from_json(json).unwrap_or_else(|e| panic!("iam-rs {name}: {e}"))
        })
        .collect();
    iam_rs::PolicyEvaluator::with_policies(policies).with_options(iam_rs::EvaluationOptions {
        // The default stops at 1,000 statements; the large account has 10,000.
        max_statements: usize::MAX,
        ..Default::default()
    })
}

fn iamrs_request(r: &Req) -> iam_rs::IAMRequest {
    use iam_rs::ContextValue as V;
    let mut ctx = iam_rs::Context::new();
    let s = |v: &str| V::String(v.to_string());
    ctx.insert("aws:username".into(), s("alice"));
    ctx.insert("aws:PrincipalArn".into(), s(USER_ARN));
    ctx.insert("aws:PrincipalAccount".into(), s(ACCOUNT));
    ctx.insert("aws:PrincipalType".into(), s("User"));
    ctx.insert("aws:PrincipalIsAWSService".into(), V::Boolean(false));
    ctx.insert("aws:PrincipalTag/team".into(), s("payments"));
    ctx.insert("aws:RequestedRegion".into(), s(r.region));
    ctx.insert("aws:SourceIp".into(), s(r.ip));
    ctx.insert("aws:SecureTransport".into(), V::Boolean(r.secure));
    iam_rs::IAMRequest::new_with_context(
        iam_rs::Principal::Aws(iam_rs::PrincipalId::String(USER_ARN.to_string())),
        r.action.clone(),
        iam_rs::Arn::parse(&r.resource).expect("request resource is an ARN"),
        ctx,
    )
}

fn iamrs_outcome(d: iam_rs::Decision) -> Outcome {
    match d {
        iam_rs::Decision::Allow => Outcome::Allow,
        iam_rs::Decision::Deny => Outcome::ExplicitDeny,
        iam_rs::Decision::NotApplicable => Outcome::ImplicitDeny,
    }
}

/// One benchmark set: both engines compiled once, requests prepared, decisions cross-checked.
struct Set {
    name: &'static str,
    statements: usize,
    rampart: PolicySet,
    iamrs: iam_rs::PolicyEvaluator,
    /// (label, expected outcome, rampart request, iam-rs request)
    requests: Vec<(String, Outcome, Request, iam_rs::IAMRequest)>,
}

fn build_set(name: &'static str, docs: &[(String, String)], reqs: &[Req]) -> Set {
    let rampart = rampart_layer(docs);
    let iamrs = iamrs_evaluator(docs);
    let statements = rampart
        .identity
        .policies()
        .iter()
        .map(|p| p.statements.len())
        .sum();
    let mut requests = Vec::new();
    for r in reqs {
        let rq = rampart_request(r);
        let iq = iamrs_request(r);
        let ours = evaluate(&rq, &rampart).outcome;
        let theirs = iamrs_outcome(iamrs.evaluate(&iq).expect("iam-rs evaluates").decision);
        assert_eq!(
            ours, theirs,
            "{name}/{}: rampart and iam-rs disagree on {} {}",
            r.label, r.action, r.resource
        );
        requests.push((r.label.clone(), ours, rq, iq));
    }
    Set {
        name,
        statements,
        rampart,
        iamrs,
        requests,
    }
}

fn realistic_set() -> Set {
    let set = build_set("realistic", &realistic_policies(), &realistic_requests());
    let want = |label: &str| {
        if label.starts_with("allow") {
            Outcome::Allow
        } else if label.starts_with("implicit") {
            Outcome::ImplicitDeny
        } else {
            Outcome::ExplicitDeny
        }
    };
    for (label, got, ..) in &set.requests {
        assert_eq!(*got, want(label), "realistic/{label}");
    }
    set
}

fn large_set() -> Set {
    let docs = large_policies();
    let rampart = rampart_layer(&docs);
    // Keep the first three candidates of each outcome (in generation order).
    let mut picked: Vec<Req> = Vec::new();
    let mut counts = [0usize; 3];
    for c in large_candidates() {
        let o = evaluate(&rampart_request(&c), &rampart).outcome;
        let (i, tag) = match o {
            Outcome::Allow => (0, "allow"),
            Outcome::ImplicitDeny => (1, "implicit"),
            Outcome::ExplicitDeny => (2, "deny"),
        };
        if counts[i] < 3 {
            counts[i] += 1;
            let mut c = c;
            c.label = format!("{tag}_{}", c.action.replace(':', "_").to_lowercase());
            picked.push(c);
        }
    }
    assert_eq!(
        counts,
        [3, 3, 3],
        "large: not enough requests of each outcome"
    );
    build_set("large", &docs, &picked)
}

// ---------------------------------------------------------------------------------------------
// Measurement.
// ---------------------------------------------------------------------------------------------

fn bench_set(c: &mut Criterion, set: &Set) {
    let mut g = c.benchmark_group(set.name);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    for (label, _, rq, iq) in &set.requests {
        g.bench_with_input(BenchmarkId::new("rampart", label), rq, |b, rq| {
            b.iter(|| evaluate(black_box(rq), black_box(&set.rampart)).outcome)
        });
        g.bench_with_input(BenchmarkId::new("iam-rs", label), iq, |b, iq| {
            b.iter(|| set.iamrs.evaluate(black_box(iq)).map(|r| r.decision).ok())
        });
    }
    g.finish();
}

/// Per-decision percentiles over every request of the set (each sample: `BATCH` evaluations
/// of one request, round-robin over the requests).
fn percentiles(samples: &mut [f64]) -> (f64, f64) {
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.50), at(0.99))
}

fn custom_report(set: &Set) {
    const BATCH: usize = 16;
    let budget = Duration::from_secs(2);
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let start = Instant::now();
    while start.elapsed() < budget {
        for (_, _, rq, _) in &set.requests {
            let t = Instant::now();
            for _ in 0..BATCH {
                black_box(evaluate(black_box(rq), black_box(&set.rampart)).outcome);
            }
            ours.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
        }
    }
    let start = Instant::now();
    while start.elapsed() < budget * 2 {
        for (_, _, _, iq) in &set.requests {
            let t = Instant::now();
            for _ in 0..BATCH {
                black_box(set.iamrs.evaluate(black_box(iq)).map(|r| r.decision).ok());
            }
            theirs.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
        }
    }
    let (o50, o99) = percentiles(&mut ours);
    let (t50, t99) = percentiles(&mut theirs);
    println!(
        "SUMMARY {:<10} policies={:<5} statements={:<6} requests={:<3} rampart p50={:>10.1}ns p99={:>10.1}ns | iam-rs p50={:>10.1}ns p99={:>10.1}ns | ratio p50={:.1}x",
        set.name,
        set.rampart.identity.policies().len(),
        set.statements,
        set.requests.len(),
        o50,
        o99,
        t50,
        t99,
        t50 / o50
    );
}

fn main() {
    // RAMPART_BENCH_SETS=realistic (or large) builds and runs only that set (for profiling).
    let only = std::env::var("RAMPART_BENCH_SETS").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|s| s == name);
    let mut sets = Vec::new();
    if wanted("realistic") {
        sets.push(realistic_set());
    }
    if wanted("large") {
        sets.push(large_set());
    }
    for set in &sets {
        for (label, outcome, ..) in &set.requests {
            println!(
                "REQUEST {}/{label}: {outcome} (both engines agree)",
                set.name
            );
        }
    }
    let mut c = Criterion::default().configure_from_args();
    for set in &sets {
        bench_set(&mut c, set);
    }
    c.final_summary();
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list") {
        for set in &sets {
            custom_report(set);
        }
    }
}
