//! AWS partitions: which partition a region belongs to, and the ARNs, DNS suffix and default
//! region of each. The one source of truth for the `aws` segment of every ARN Rampart mints
//! and parses.
//!
//! The table is botocore's `partitions.json`: each partition's known regions and its region
//! pattern (`^cn\-\w+\-\d+$` for `aws-cn`, ...). A region no partition claims belongs to
//! `aws`, as the SDKs resolve it.

use std::fmt;

/// An AWS partition: a group of regions with its own accounts, ARNs and endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Partition {
    /// `aws`: the commercial regions.
    #[default]
    Aws,
    /// `aws-cn`: Beijing and Ningxia.
    AwsCn,
    /// `aws-us-gov`: AWS GovCloud (US).
    AwsUsGov,
    /// `aws-iso`: US ISO East/West.
    AwsIso,
    /// `aws-iso-b`: US ISOB.
    AwsIsoB,
    /// `aws-iso-e`: EU ISOE.
    AwsIsoE,
    /// `aws-iso-f`: US ISOF.
    AwsIsoF,
    /// `aws-eusc`: the AWS European Sovereign Cloud.
    AwsEusc,
}

/// One partition's row: name, DNS suffix, default region, region prefix segments (matched
/// before `-\w+-\d+`).
struct Row {
    partition: Partition,
    name: &'static str,
    dns_suffix: &'static str,
    default_region: &'static str,
    /// The leading segments a region of this partition has, each alternative listed.
    prefixes: &'static [&'static [&'static str]],
}

const TABLE: [Row; 8] = [
    Row {
        partition: Partition::Aws,
        name: "aws",
        dns_suffix: "amazonaws.com",
        default_region: "us-east-1",
        prefixes: &[&["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"]],
    },
    Row {
        partition: Partition::AwsCn,
        name: "aws-cn",
        dns_suffix: "amazonaws.com.cn",
        default_region: "cn-northwest-1",
        prefixes: &[&["cn"]],
    },
    Row {
        partition: Partition::AwsUsGov,
        name: "aws-us-gov",
        dns_suffix: "amazonaws.com",
        default_region: "us-gov-west-1",
        prefixes: &[&["us"], &["gov"]],
    },
    Row {
        partition: Partition::AwsIso,
        name: "aws-iso",
        dns_suffix: "c2s.ic.gov",
        default_region: "us-iso-east-1",
        prefixes: &[&["us"], &["iso"]],
    },
    Row {
        partition: Partition::AwsIsoB,
        name: "aws-iso-b",
        dns_suffix: "sc2s.sgov.gov",
        default_region: "us-isob-east-1",
        prefixes: &[&["us"], &["isob"]],
    },
    Row {
        partition: Partition::AwsIsoE,
        name: "aws-iso-e",
        dns_suffix: "cloud.adc-e.uk",
        default_region: "eu-isoe-west-1",
        prefixes: &[&["eu"], &["isoe"]],
    },
    Row {
        partition: Partition::AwsIsoF,
        name: "aws-iso-f",
        dns_suffix: "csp.hci.ic.gov",
        default_region: "us-isof-south-1",
        prefixes: &[&["us"], &["isof"]],
    },
    Row {
        partition: Partition::AwsEusc,
        name: "aws-eusc",
        dns_suffix: "amazonaws.eu",
        default_region: "eusc-de-east-1",
        prefixes: &[&["eusc"], &["de"]],
    },
];

/// `\w+` of a regular expression: ASCII letters, digits and `_`, at least one.
fn is_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl Row {
    /// Whether `region` matches this row's pattern: its prefix segments, then `\w+-\d+`.
    fn claims(&self, region: &str) -> bool {
        let segments: Vec<&str> = region.split('-').collect();
        if segments.len() != self.prefixes.len() + 2 {
            return false;
        }
        let prefix_ok = self
            .prefixes
            .iter()
            .zip(&segments)
            .all(|(allowed, seg)| allowed.contains(seg));
        let mut tail = segments.iter().skip(self.prefixes.len());
        prefix_ok
            && tail.next().is_some_and(|s| is_word(s))
            && tail.next().is_some_and(|s| is_digits(s))
    }
}

impl Partition {
    /// Every partition.
    pub const ALL: [Partition; 8] = [
        Partition::Aws,
        Partition::AwsCn,
        Partition::AwsUsGov,
        Partition::AwsIso,
        Partition::AwsIsoB,
        Partition::AwsIsoE,
        Partition::AwsIsoF,
        Partition::AwsEusc,
    ];

    fn row(self) -> &'static Row {
        let i = match self {
            Partition::Aws => 0,
            Partition::AwsCn => 1,
            Partition::AwsUsGov => 2,
            Partition::AwsIso => 3,
            Partition::AwsIsoB => 4,
            Partition::AwsIsoE => 5,
            Partition::AwsIsoF => 6,
            Partition::AwsEusc => 7,
        };
        #[expect(clippy::indexing_slicing, reason = "i < 8 = TABLE.len()")]
        &TABLE[i]
    }

    /// The partition whose region pattern `region` matches, `None` for a region no partition
    /// claims (`local`, `moon-1`).
    pub fn claiming(region: &str) -> Option<Partition> {
        TABLE.iter().find(|r| r.claims(region)).map(|r| r.partition)
    }

    /// The partition of `region`: the one claiming it, else `aws` (as the SDKs resolve an
    /// unknown region).
    pub fn of_region(region: &str) -> Partition {
        Partition::claiming(region).unwrap_or_default()
    }

    /// The partition named `name` (`aws-cn`).
    pub fn from_name(name: &str) -> Option<Partition> {
        TABLE.iter().find(|r| r.name == name).map(|r| r.partition)
    }

    /// The partition an ARN names (`arn:aws-cn:...` is `aws-cn`).
    pub fn of_arn(arn: &str) -> Option<Partition> {
        let rest = arn.strip_prefix("arn:")?;
        Partition::from_name(rest.split(':').next()?)
    }

    /// The name ARNs carry (`aws`, `aws-cn`, `aws-us-gov`, ...).
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// The DNS suffix of the partition's endpoints (`amazonaws.com.cn` in China).
    pub fn dns_suffix(self) -> &'static str {
        self.row().dns_suffix
    }

    /// The region global services (IAM, STS's global endpoint) sign for in this partition.
    pub fn default_region(self) -> &'static str {
        self.row().default_region
    }

    /// A service's regional host name: `SERVICE.REGION.SUFFIX` (what `kms:ViaService`
    /// names: `secretsmanager.cn-north-1.amazonaws.com.cn` in China).
    pub fn host(self, service: &str, region: &str) -> String {
        format!("{service}.{region}.{}", self.dns_suffix())
    }

    /// A service's regional endpoint: `https://SERVICE.REGION.SUFFIX`.
    pub fn endpoint(self, service: &str, region: &str) -> String {
        format!("https://{}", self.host(service, region))
    }

    /// The principal a service acts as (`cloudtrail.amazonaws.com`). Every partition keeps
    /// `amazonaws.com` here: IAM in the China regions refuses `SERVICE.amazonaws.com.cn`
    /// principals for the services Rampart serves.
    pub fn service_principal(self, service: &str) -> String {
        format!("{service}.amazonaws.com")
    }

    /// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
    pub fn arn(self, service: &str, region: &str, account: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{region}:{account}:{resource}",
            self.name()
        )
    }

    /// An IAM ARN: `arn:PARTITION:iam::ACCOUNT:RESOURCE`.
    pub fn iam_arn(self, account: &str, resource: &str) -> String {
        self.arn("iam", "", account, resource)
    }

    /// An account's root user: `arn:PARTITION:iam::ACCOUNT:root`.
    pub fn root_arn(self, account: &str) -> String {
        self.iam_arn(account, "root")
    }

    /// What follows `arn:PARTITION:SERVICE:` in `arn`, when `arn` is of this partition and
    /// service (`"::1:user/a"` of `arn:aws:iam::1:user/a` for `iam`).
    pub fn strip_arn<'a>(self, arn: &'a str, service: &str) -> Option<&'a str> {
        arn.strip_prefix("arn:")?
            .strip_prefix(self.name())?
            .strip_prefix(':')?
            .strip_prefix(service)?
            .strip_prefix(':')
    }

    /// What follows `arn:PARTITION:iam::` in `arn` (`1:user/a`).
    pub fn strip_iam_arn(self, arn: &str) -> Option<&str> {
        self.strip_arn(arn, "iam")?.strip_prefix(':')
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_botocore_lists_belongs_to_its_partition() {
        let table = [
            (
                Partition::Aws,
                &[
                    "us-east-1",
                    "eu-west-1",
                    "ap-southeast-7",
                    "mx-central-1",
                    "il-central-1",
                    "ca-west-1",
                ][..],
            ),
            (Partition::AwsCn, &["cn-north-1", "cn-northwest-1"]),
            (Partition::AwsUsGov, &["us-gov-west-1", "us-gov-east-1"]),
            (Partition::AwsIso, &["us-iso-east-1", "us-iso-west-1"]),
            (Partition::AwsIsoB, &["us-isob-east-1", "us-isob-west-1"]),
            (Partition::AwsIsoE, &["eu-isoe-west-1"]),
            (Partition::AwsIsoF, &["us-isof-south-1", "us-isof-east-1"]),
            (Partition::AwsEusc, &["eusc-de-east-1"]),
        ];
        for (partition, regions) in table {
            for region in regions {
                assert_eq!(Partition::claiming(region), Some(partition), "{region}");
            }
            assert_eq!(Partition::of_region(partition.default_region()), partition);
            assert_eq!(Partition::from_name(partition.name()), Some(partition));
        }
    }

    #[test]
    fn the_patterns_are_whole_segments() {
        // Regions of a future or unknown shape: claimed by the pattern, or by nobody.
        assert_eq!(Partition::claiming("cn-south-2"), Some(Partition::AwsCn));
        assert_eq!(
            Partition::claiming("us-gov-central-3"),
            Some(Partition::AwsUsGov)
        );
        for region in [
            "local",
            "moon-1",
            "us-east",
            "us-east-1a",
            "cn-north-1-x",
            "us--1",
            "xx-east-1",
            "eusc-fr-east-1",
            "",
        ] {
            assert_eq!(Partition::claiming(region), None, "{region}");
            assert_eq!(Partition::of_region(region), Partition::Aws, "{region}");
        }
    }

    #[test]
    fn arns_endpoints_and_principals_carry_the_partition() {
        let cn = Partition::AwsCn;
        assert_eq!(
            cn.root_arn("111122223333"),
            "arn:aws-cn:iam::111122223333:root"
        );
        assert_eq!(
            cn.arn("kms", "cn-north-1", "1", "key/k"),
            "arn:aws-cn:kms:cn-north-1:1:key/k"
        );
        assert_eq!(
            cn.endpoint("kms", "cn-north-1"),
            "https://kms.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            Partition::AwsUsGov.endpoint("sts", "us-gov-west-1"),
            "https://sts.us-gov-west-1.amazonaws.com"
        );
        assert_eq!(
            cn.host("s3", "cn-north-1"),
            "s3.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            cn.service_principal("cloudtrail"),
            "cloudtrail.amazonaws.com"
        );
        assert_eq!(Partition::AwsIso.dns_suffix(), "c2s.ic.gov");
    }

    #[test]
    fn arns_are_read_only_in_their_own_partition() {
        let arn = "arn:aws-us-gov:iam::111122223333:user/a";
        assert_eq!(Partition::of_arn(arn), Some(Partition::AwsUsGov));
        assert_eq!(
            Partition::AwsUsGov.strip_iam_arn(arn),
            Some("111122223333:user/a")
        );
        assert_eq!(Partition::Aws.strip_iam_arn(arn), None);
        assert_eq!(
            Partition::Aws.strip_iam_arn("arn:aws:iam::1:root"),
            Some("1:root")
        );
        // `aws` is a prefix of `aws-cn`: the segment is compared whole.
        assert_eq!(Partition::Aws.strip_arn("arn:aws-cn:s3:::b", "s3"), None);
        assert_eq!(
            Partition::AwsCn.strip_arn("arn:aws-cn:s3:::b", "s3"),
            Some("::b")
        );
        assert_eq!(Partition::of_arn("arn:aws-moon:s3:::b"), None);
        assert_eq!(Partition::of_arn("s3:::b"), None);
    }
}
