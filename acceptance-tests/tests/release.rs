//! The release artifacts of `scripts/release.sh` (in `dist/`, or
//! `$BBWS_DIST_DIR`), as users get them: the registry's files check out,
//! the binary starts on glibc 2.28, and `terraform init` installs it from a
//! filesystem mirror, with no `dev_overrides`, to apply the quickstart.
//!
//! `scripts/test.sh` runs the release script before these tests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use bbws_acceptance_tests::{Stack, Workdir, copy_example_into, workspace_root};
use object::elf;
use object::read::elf::{Dyn, ElfFile64, FileHeader, SectionHeader};

/// The workspace's version: every crate inherits it, this one too.
const VERSION: &str = env!("CARGO_PKG_VERSION");
const NAME: &str = "terraform-provider-bbws";

/// The newest glibc symbol version the binary may need.
const MAX_GLIBC: (u32, u32) = (2, 28);
/// The only shared libraries it may need.
const ALLOWED_LIBS: [&str; 5] = [
    "libc.so.6",
    "libm.so.6",
    "libgcc_s.so.1",
    "libpthread.so.0",
    "libdl.so.2",
];

fn dist() -> PathBuf {
    std::env::var_os("BBWS_DIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("dist"))
}

fn artifact(suffix: &str) -> PathBuf {
    let p = dist().join(format!("{NAME}_{VERSION}_{suffix}"));
    assert!(
        p.exists(),
        "{} is missing; run `bash scripts/release.sh` first",
        p.display()
    );
    p
}

/// The zips of every platform built (linux_amd64 at least).
fn zips() -> Vec<(String, PathBuf)> {
    let prefix = format!("{NAME}_{VERSION}_");
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(dist())
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?;
            let platform = name.strip_prefix(&prefix)?.strip_suffix(".zip")?.to_owned();
            Some((platform, p))
        })
        .collect();
    out.sort();
    assert!(
        out.iter().any(|(p, _)| p == "linux_amd64"),
        "no linux_amd64 zip in {}; run `bash scripts/release.sh` first",
        dist().display()
    );
    out
}

/// The one file of a release zip: its name, mode and bytes (read with
/// Python's zipfile, from the stack's venv or the system's python3).
fn unzip(path: &Path) -> (String, u32, Vec<u8>) {
    let script = r#"
import base64, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    infos = z.infolist()
    print(json.dumps([{"name": i.filename, "mode": i.external_attr >> 16,
                       "data": base64.b64encode(z.read(i)).decode()} for i in infos]))
"#;
    let venv = std::env::var_os("BBWS_STACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".bbws"))
        .join("venv/bin/python");
    let python = if venv.exists() { venv } else { PathBuf::from("python3") };
    let out = std::process::Command::new(python)
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let entries: serde_json::Value = serde_json::from_slice(&out.stdout).expect("zip listing");
    let entries = entries.as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{}: one file, the binary", path.display());
    let e = &entries[0];
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(e["data"].as_str().unwrap_or_default())
        .expect("base64");
    (
        e["name"].as_str().unwrap_or_default().to_owned(),
        e["mode"]
            .as_u64()
            .and_then(|m| u32::try_from(m).ok())
            .unwrap_or_default(),
        bytes,
    )
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes).as_ref().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the dynamic loader will need of the system: the DT_NEEDED
/// libraries and every symbol version required of them (.gnu.version_r,
/// the union over all imported symbols).
fn loader_needs(bytes: &[u8]) -> (BTreeSet<String>, BTreeSet<(String, String)>) {
    let file = ElfFile64::<object::Endianness>::parse(bytes).expect("an ELF64 file");
    let endian = file.endian();
    let sections = file.elf_header().sections(endian, bytes).expect("section headers");
    let mut libs = BTreeSet::new();
    if let Some((dynamic, index)) = sections.iter().find_map(|s| s.dynamic(endian, bytes).ok().flatten()) {
        let strings = sections.strings(endian, bytes, index).expect("dynamic strings");
        for d in dynamic {
            if d.d_tag(endian) == u64::from(elf::DT_NEEDED) {
                let name = strings
                    .get(u32::try_from(d.d_val(endian)).expect("a string offset"))
                    .expect("a DT_NEEDED name");
                libs.insert(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    let mut versions = BTreeSet::new();
    if let Some(table) = sections.versions(endian, bytes).expect("version sections") {
        // Every Vernaux names a version one of the libraries must provide.
        for section in sections.iter() {
            if let Some((mut verneeds, link)) = section.gnu_verneed(endian, bytes).expect("verneed") {
                let strings = sections.strings(endian, bytes, link).expect("verneed strings");
                while let Some((need, mut auxs)) = verneeds.next().expect("a verneed entry") {
                    let file = String::from_utf8_lossy(need.file(endian, strings).expect("file")).into_owned();
                    while let Some(aux) = auxs.next().expect("a vernaux entry") {
                        let v = String::from_utf8_lossy(aux.name(endian, strings).expect("name")).into_owned();
                        versions.insert((file.clone(), v));
                    }
                }
            }
        }
        assert!(!table.is_empty(), "a dynamically linked binary has versioned symbols");
    }
    (libs, versions)
}

/// `GLIBC_2.17` → (2, 17); anything else (e.g. `GLIBC_ABI_DT_RELR`, which
/// glibc 2.36 introduced) → None.
fn glibc_version(v: &str) -> Option<(u32, u32)> {
    let rest = v.strip_prefix("GLIBC_")?;
    let mut it = rest.split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

#[test]
fn artifacts_are_in_the_registry_layout() {
    let sums = std::fs::read_to_string(artifact("SHA256SUMS")).expect("read SHA256SUMS");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(artifact("manifest.json")).expect("read manifest"))
            .expect("manifest is JSON");
    assert_eq!(manifest["version"], 1, "{manifest}");
    assert_eq!(
        manifest["metadata"]["protocol_versions"],
        serde_json::json!(["6.0"]),
        "{manifest}"
    );
    let mut listed: Vec<&str> = Vec::new();
    for line in sums.lines() {
        let (sum, file) = line.split_once("  ").expect("`<sha256>  <file>` lines");
        let bytes = std::fs::read(dist().join(file)).unwrap_or_else(|e| panic!("{file} listed but unreadable: {e}"));
        assert_eq!(sum, hex(&sha256(&bytes)), "{file}'s checksum");
        listed.push(file);
    }
    let manifest_name = format!("{NAME}_{VERSION}_manifest.json");
    assert!(listed.contains(&manifest_name.as_str()), "{sums}");
    for (platform, zip) in zips() {
        let file = zip.file_name().and_then(|f| f.to_str()).expect("zip name");
        assert!(listed.contains(&file), "{file} in SHA256SUMS: {sums}");
        assert!(
            ["linux_amd64", "linux_arm64"].contains(&platform.as_str()),
            "{platform}"
        );
        let (name, mode, _) = unzip(&zip);
        assert_eq!(name, format!("{NAME}_v{VERSION}"), "the binary's name in {file}");
        assert_eq!(mode & 0o777, 0o755, "{file}: executable");
    }
}

/// The binary needs nothing newer than glibc 2.28 and no library beyond
/// libc, libm, libgcc_s, libpthread and libdl: it starts on RHEL 8, Amazon
/// Linux 2023, Debian 10+ and Ubuntu 20.04+.
#[test]
fn release_binaries_start_on_glibc_2_28() {
    for (platform, zip) in zips() {
        let (_, _, bytes) = unzip(&zip);
        let (libs, versions) = loader_needs(&bytes);
        assert!(
            libs.contains("libc.so.6"),
            "{platform}: dynamically linked against glibc: {libs:?}"
        );
        for lib in &libs {
            assert!(
                ALLOWED_LIBS.contains(&lib.as_str()),
                "{platform} needs {lib}, which is not on every supported Linux (allowed: {ALLOWED_LIBS:?})"
            );
        }
        let mut newest = (0, 0);
        for (lib, v) in &versions {
            if v.starts_with("GLIBC_") {
                let parsed = glibc_version(v);
                assert!(
                    parsed.is_some_and(|p| p <= MAX_GLIBC),
                    "{platform}: {lib} must provide {v}, newer than glibc {}.{}",
                    MAX_GLIBC.0,
                    MAX_GLIBC.1
                );
                newest = newest.max(parsed.unwrap_or_default());
            }
        }
        assert!(
            newest > (2, 0),
            "{platform}: some GLIBC_2.x symbol versions: {versions:?}"
        );
        eprintln!(
            "{platform}: needs {libs:?}, glibc symbols up to GLIBC_{}.{}",
            newest.0, newest.1
        );
    }
}

/// The host's zip runs and says its version.
#[test]
fn the_released_binary_says_its_version() {
    let zip = zips().into_iter().find(|(p, _)| p == "linux_amd64").map(|(_, z)| z);
    let (name, _, bytes) = unzip(&zip.expect("linux_amd64"));
    let dir = std::env::temp_dir().join(format!("bbws-release-version-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bin = dir.join(&name);
    std::fs::write(&bin, bytes).expect("write binary");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = std::process::Command::new(&bin)
        .arg("--version")
        .output()
        .expect("run the binary");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with(&format!("{NAME} {VERSION}")), "{text}");
}

/// Terraform's `h1:` hash of a package: SHA-256 of the sorted
/// `<sha256>  <file>` lines of its contents ("dirhash" Hash1).
fn h1(name: &str, bytes: &[u8]) -> String {
    let line = format!("{}  {name}\n", hex(&sha256(bytes)));
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(sha256(line.as_bytes()))
    )
}

/// As users install it: the zip in a filesystem mirror, `terraform init`
/// (which checks the hashes into `.terraform.lock.hcl`), then a plan and
/// apply of the quickstart, with no `dev_overrides` anywhere.
#[test]
fn terraform_init_installs_the_zip_from_a_mirror_and_applies_the_quickstart() {
    let stack = Stack::load();
    let (_, zip) = zips()
        .into_iter()
        .find(|(p, _)| p == "linux_amd64")
        .expect("linux_amd64");
    let mirror = stack.dir.join("work").join(format!("mirror-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&mirror);
    let pkg_dir = mirror.join("registry.terraform.io/bbws/bbws");
    std::fs::create_dir_all(&pkg_dir).expect("mirror dir");
    let file = zip.file_name().expect("zip name");
    std::fs::copy(&zip, pkg_dir.join(file)).expect("copy the zip");

    let installation = format!(
        "  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/bbws/bbws\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/bbws/bbws\"]\n  }}\n",
        mirror.display()
    );
    let w = Workdir::with_installation(&stack, "mirror-install", &installation);
    let cli = std::fs::read_to_string(w.dir.join("terraformrc")).expect("cli config");
    assert!(!cli.contains("dev_overrides"), "{cli}");
    let tid = copy_example_into(&w, "quickstart");

    let init = w.tf(&["init", "-input=false", "-no-color"]).ok();
    assert!(
        init.stdout.contains(&format!("Installed bbws/bbws v{VERSION}")),
        "{}",
        init.stdout
    );
    let lock = std::fs::read_to_string(w.dir.join(".terraform.lock.hcl")).expect("the lock file");
    let (name, _, bytes) = unzip(&zip);
    assert!(lock.contains("provider \"registry.terraform.io/bbws/bbws\""), "{lock}");
    assert!(lock.contains(&format!("version = \"{VERSION}\"")), "{lock}");
    assert!(
        lock.contains(&h1(&name, &bytes)),
        "the lock holds the zip's h1 hash: {lock}"
    );
    let installed = w.dir.join(format!(
        ".terraform/providers/registry.terraform.io/bbws/bbws/{VERSION}/linux_amd64/{name}"
    ));
    assert!(installed.exists(), "installed at {}", installed.display());

    let (plan, _) = w.plan_json(&[]);
    assert!(plan.stdout.contains("Plan: 1 to add"), "{}", plan.stdout);
    assert!(
        !plan.stderr.contains("Provider development overrides"),
        "{}",
        plan.stderr
    );
    let apply = w.apply_plan().ok();
    assert!(
        apply.stdout.contains("Apply complete! Resources: 1 added"),
        "{}",
        apply.stdout
    );
    let sub = format!("acme-{}", &tid[6..]);
    assert!(!stack.inspect(&tid, &[&sub])["service"].is_null());
    w.with_vars("destroy", &["-auto-approve"]).ok();
}
