//! Which file a requested name means, shared by TFTP and HTTP: only regular files
//! under the root. Names with `..` components, absolute names, NULs and
//! backslashes are refused before touching the disk; what remains is resolved
//! with symlinks followed and refused if it lands outside the root. The iPXE
//! builds are the one exception: when the root does not have them they come
//! from the iPXE directory (Debian's `ipxe` package), by exact name only.

use std::io;
use std::path::{Component, Path, PathBuf};

use crate::dhcp::pxe::{BIOS_FILE, UEFI_ARM64_FILE, UEFI_X64_FILE};

/// Why a name is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The name tries to leave the root (`..`, absolute, a symlink out).
    Outside,
    /// No such regular file.
    NotFound,
}

/// iPXE builds that may come from the iPXE directory.
const IPXE_FILES: &[&str] =
    &[BIOS_FILE, UEFI_X64_FILE, UEFI_ARM64_FILE, "snponly.efi", "undionly.kkpxe", "arm64-efi/ipxe.efi"];

/// Resolves `name` under `root` (falling back to `ipxe_dir` for iPXE builds).
/// Blocking: call from a blocking context.
pub fn resolve(root: &Path, ipxe_dir: &Path, name: &str) -> Result<PathBuf, Refused> {
    let relative = check_name(name)?;
    match inside(root, &relative) {
        Err(Refused::NotFound) if IPXE_FILES.contains(&name) => inside(ipxe_dir, &relative),
        other => other,
    }
}

/// The lexical checks: a relative path of normal components only.
pub fn check_name(name: &str) -> Result<PathBuf, Refused> {
    if name.is_empty() || name.contains(['\0', '\\']) || name.starts_with('/') {
        return Err(Refused::Outside);
    }
    let path = Path::new(name);
    let mut relative = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return Err(Refused::Outside),
        }
    }
    if relative.as_os_str().is_empty() {
        return Err(Refused::NotFound);
    }
    Ok(relative)
}

fn inside(root: &Path, relative: &Path) -> Result<PathBuf, Refused> {
    let root = root.canonicalize().map_err(|_| Refused::NotFound)?;
    let resolved = match root.join(relative).canonicalize() {
        Ok(resolved) => resolved,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Err(Refused::NotFound),
        Err(_) => return Err(Refused::NotFound),
    };
    if !resolved.starts_with(&root) {
        return Err(Refused::Outside);
    }
    if !resolved.is_file() {
        return Err(Refused::NotFound);
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_under_the_root_are_served() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let ipxe = dir.path().join("ipxe");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(&ipxe).unwrap();
        std::fs::write(root.join("sub/kernel"), b"k").unwrap();
        std::fs::write(dir.path().join("secret"), b"s").unwrap();
        std::fs::write(ipxe.join("undionly.kpxe"), b"u").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("escape")).unwrap();
        std::os::unix::fs::symlink(root.join("sub/kernel"), root.join("inner")).unwrap();
        let cases = [
            ("sub/kernel", Ok("root/sub/kernel")),
            ("./sub/kernel", Ok("root/sub/kernel")),
            ("inner", Ok("root/sub/kernel")),
            ("undionly.kpxe", Ok("ipxe/undionly.kpxe")),
            ("../secret", Err(Refused::Outside)),
            ("sub/../../secret", Err(Refused::Outside)),
            ("/etc/passwd", Err(Refused::Outside)),
            ("..\\secret", Err(Refused::Outside)),
            ("escape", Err(Refused::Outside)),
            ("sub", Err(Refused::NotFound)),
            ("missing", Err(Refused::NotFound)),
            ("a\0b", Err(Refused::Outside)),
            ("", Err(Refused::Outside)),
            ("../ipxe/undionly.kpxe", Err(Refused::Outside)),
        ];
        let canonical = dir.path().canonicalize().unwrap();
        for (name, expected) in cases {
            let got = resolve(&root, &ipxe, name);
            let expected = expected.map(|p| canonical.join(p));
            assert_eq!(got, expected, "{name:?}");
        }
    }
}
