//! The tokens file (`--tokens FILE`, TOML): the admin's token, one token per external carrier,
//! and optional webhooks. Tokens are compared in constant time.

use std::collections::BTreeMap;
use std::path::Path;

use lnp_model::CarrierCode;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Who a request comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Principal {
    /// May drive the clock and read everything.
    Admin,
    /// An external carrier's system.
    Carrier(CarrierCode),
}

impl Principal {
    pub fn is_admin(self) -> bool {
        self == Self::Admin
    }
}

/// A carrier's webhook: where its rows are pushed, and the HMAC secret that signs them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    pub secret: String,
}

/// The tokens of one server.
#[derive(Clone)]
pub struct Tokens {
    admin: String,
    carriers: BTreeMap<CarrierCode, String>,
    pub webhooks: BTreeMap<CarrierCode, Webhook>,
    /// SHA-256 of each token with whose it is: presented tokens are hashed and compared with
    /// every one of these in constant time, so neither a token's length nor how much of it
    /// matched shows in the time an answer takes.
    digests: Vec<([u8; 32], Principal)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("carriers", &self.carriers.keys().collect::<Vec<_>>())
            .field("webhooks", &self.webhooks.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    admin: String,
    #[serde(default)]
    carriers: BTreeMap<String, String>,
    #[serde(default)]
    webhooks: BTreeMap<String, WebhookFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookFile {
    url: String,
    secret: String,
}

fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// The shortest token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

impl Tokens {
    /// Builds the tokens and checks them against the market: every carrier named must be one
    /// of `carriers`, no two principals share a token, no token is short.
    pub fn new(
        admin: String,
        carriers: BTreeMap<CarrierCode, String>,
        webhooks: BTreeMap<CarrierCode, Webhook>,
        market: &[CarrierCode],
    ) -> Result<Self, String> {
        let mut seen: BTreeMap<&str, String> = BTreeMap::new();
        let check = |seen: &BTreeMap<&str, String>, who: &str, token: &str| -> Result<(), String> {
            if token.len() < MIN_TOKEN_LEN {
                return Err(format!("{who}: the token is shorter than {MIN_TOKEN_LEN} characters"));
            }
            if let Some(other) = seen.get(token) {
                return Err(format!("{who} and {other} have the same token; give each its own"));
            }
            Ok(())
        };
        check(&seen, "admin", &admin)?;
        seen.insert(&admin, "admin".into());
        for (code, token) in &carriers {
            if !market.contains(code) {
                return Err(format!("carriers.{code}: carrier {code} is not in the scenario"));
            }
            let who = format!("carriers.{code}");
            check(&seen, &who, token)?;
            seen.insert(token, who);
        }
        for (code, hook) in &webhooks {
            if !carriers.contains_key(code) {
                return Err(format!("webhooks.{code}: carrier {code} has no token in [carriers]"));
            }
            if !hook.url.starts_with("http://") {
                return Err(format!(
                    "webhooks.{code}.url: {:?}: a webhook URL starts with http://",
                    hook.url
                ));
            }
            if hook.url.parse::<hyper::Uri>().is_err() {
                return Err(format!("webhooks.{code}.url: {:?} is not a URL", hook.url));
            }
            if hook.secret.is_empty() {
                return Err(format!("webhooks.{code}.secret: empty"));
            }
        }
        let mut digests = vec![(digest(admin.as_bytes()), Principal::Admin)];
        digests.extend(
            carriers
                .iter()
                .map(|(c, t)| (digest(t.as_bytes()), Principal::Carrier(*c))),
        );
        Ok(Self {
            admin,
            carriers,
            webhooks,
            digests,
        })
    }

    /// Reads a tokens file. Refused: a file others may read, bad TOML, a carrier the market
    /// lacks, a token two principals share.
    pub fn load(path: &Path, market: &[CarrierCode]) -> Result<Self, String> {
        let name = path.display();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let meta = std::fs::metadata(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
            let mode = meta.permissions().mode();
            if mode & 0o044 != 0 {
                return Err(format!(
                    "{name}: readable by others (mode {:o}); tokens are secrets: chmod 600 {name}",
                    mode & 0o777
                ));
            }
        }
        let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
        Self::parse(&text, market).map_err(|e| format!("{name}: {e}"))
    }

    /// Parses the text of a tokens file (see [`Tokens::load`]).
    pub fn parse(text: &str, market: &[CarrierCode]) -> Result<Self, String> {
        let file: TokensFile = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let code = |key: &str, section: &str| key.parse::<CarrierCode>().map_err(|e| format!("{section}.{key}: {e}"));
        let mut carriers = BTreeMap::new();
        for (k, v) in file.carriers {
            carriers.insert(code(&k, "carriers")?, v);
        }
        let mut webhooks = BTreeMap::new();
        for (k, v) in file.webhooks {
            webhooks.insert(
                code(&k, "webhooks")?,
                Webhook {
                    url: v.url,
                    secret: v.secret,
                },
            );
        }
        Self::new(file.admin, carriers, webhooks, market)
    }

    /// Random tokens for the admin and each of `carriers` (OS randomness).
    pub fn generate(carriers: &[CarrierCode]) -> Result<Self, String> {
        let fresh = || -> Result<String, String> {
            let mut bytes = [0u8; 24];
            getrandom::getrandom(&mut bytes).map_err(|e| format!("no randomness for tokens: {e}"))?;
            Ok(hex(&bytes))
        };
        let admin = fresh()?;
        let mut map = BTreeMap::new();
        for c in carriers {
            map.insert(*c, fresh()?);
        }
        Self::new(admin, map, BTreeMap::new(), carriers)
    }

    /// The tokens file's text.
    pub fn to_toml(&self) -> String {
        use std::fmt::Write as _;
        let mut s = format!(
            "# lnpsim serve tokens: keep this file secret (mode 0600).\nadmin = \"{}\"\n\n[carriers]\n",
            self.admin
        );
        for (c, t) in &self.carriers {
            let _ = writeln!(s, "\"{c}\" = \"{t}\"");
        }
        if !self.webhooks.is_empty() {
            s.push_str("\n[webhooks]\n");
            for (c, w) in &self.webhooks {
                let _ = writeln!(s, "\"{c}\" = {{ url = {:?}, secret = {:?} }}", w.url, w.secret);
            }
        }
        s
    }

    /// Writes the tokens file with mode 0600 (replacing one that is there).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut f = options.open(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(self.to_toml().as_bytes())?;
        f.sync_all()
    }

    /// Who presents `token`, compared in constant time with every known token.
    pub fn authenticate(&self, token: &[u8]) -> Option<Principal> {
        let presented = digest(token);
        let mut found: Option<Principal> = None;
        for (d, who) in &self.digests {
            // Every digest is compared, whether or not one matched already.
            if bool::from(d.ct_eq(&presented)) {
                found = Some(*who);
            }
        }
        found
    }

    pub fn admin(&self) -> &str {
        &self.admin
    }

    /// A carrier's token.
    pub fn carrier(&self, code: CarrierCode) -> Option<&str> {
        self.carriers.get(&code).map(String::as_str)
    }

    pub fn carriers(&self) -> impl Iterator<Item = CarrierCode> + '_ {
        self.carriers.keys().copied()
    }
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn market() -> Vec<CarrierCode> {
        ["9001", "9002"].iter().map(|c| c.parse().expect("code")).collect()
    }

    #[test]
    fn a_tokens_file_is_read_and_checked() {
        let t = Tokens::parse(
            "admin = \"admin-secret-123456\"\n[carriers]\n\"9002\" = \"bravo-secret-123456\"\n",
            &market(),
        )
        .expect("valid");
        assert_eq!(t.authenticate(b"admin-secret-123456"), Some(Principal::Admin));
        assert_eq!(
            t.authenticate(b"bravo-secret-123456"),
            Some(Principal::Carrier("9002".parse().expect("code")))
        );
        assert_eq!(t.authenticate(b"bravo-secret-12345"), None);
        assert_eq!(t.authenticate(b""), None);
        let e = Tokens::parse(
            "admin = \"admin-secret-123456\"\n[carriers]\n\"9009\" = \"x-secret-1234567890\"\n",
            &market(),
        )
        .expect_err("unknown carrier");
        assert!(e.contains("9009") && e.contains("not in the scenario"), "{e}");
        let e = Tokens::parse(
            "admin = \"same-secret-123456\"\n[carriers]\n\"9002\" = \"same-secret-123456\"\n",
            &market(),
        )
        .expect_err("shared");
        assert!(e.contains("same token"), "{e}");
        let e = Tokens::parse("admin = \"a-secret-123456789\"\nextra = 1\n", &market()).expect_err("unknown key");
        assert!(e.contains("extra"), "{e}");
    }

    #[test]
    fn generated_tokens_round_trip() {
        let t = Tokens::generate(&market()).expect("tokens");
        let again = Tokens::parse(&t.to_toml(), &market()).expect("parse");
        assert_eq!(again.admin(), t.admin());
        assert_eq!(again.carrier(market()[1]), t.carrier(market()[1]));
    }
}
