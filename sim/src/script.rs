//! Reading the per-node iPXE script bootnet serves, as iPXE would run it: a
//! `kernel URL ARGS...` line, an `initrd [--name N] URL` line, or a local-boot
//! script (`sanboot`/`exit`) with neither.

use crate::error::SimError;

/// What a script tells the machine to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootPlan {
    /// Load a kernel and ramdisk and boot them.
    Ramdisk {
        /// Kernel URL (`http://` or `tftp://`).
        kernel: String,
        /// Ramdisk URL.
        initrd: String,
        /// Kernel command line words (`initrd=ramdisk ipa-api-url=...`).
        args: Vec<String>,
    },
    /// Leave iPXE for the local disk.
    Local,
}

impl BootPlan {
    /// The value of kernel argument `key=`, if present.
    pub fn arg(&self, key: &str) -> Option<&str> {
        let BootPlan::Ramdisk { args, .. } = self else { return None };
        args.iter().find_map(|a| a.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
    }
}

/// Parses a script; anything that is neither a ramdisk nor a local boot is an error.
pub fn parse(script: &str) -> Result<BootPlan, SimError> {
    if !script.starts_with("#!ipxe") {
        return Err(SimError::Boot("the boot script does not start with #!ipxe".into()));
    }
    let mut kernel = None;
    let mut initrd = None;
    let mut args = Vec::new();
    let mut local = false;
    for line in script.lines().map(str::trim) {
        // `cmd ... || goto fail`: only the command matters here.
        let command = line.split("||").next().unwrap_or_default().trim();
        let mut words = command.split_whitespace();
        match words.next() {
            Some("kernel" | "chain") => {
                let mut rest = words.skip_while(|w| w.starts_with("--"));
                kernel = rest.next().map(str::to_owned);
                args = rest.map(str::to_owned).collect();
            }
            Some("initrd") => {
                let mut url = None;
                let mut skip_value = false;
                for word in words {
                    if skip_value {
                        skip_value = false;
                    } else if word == "--name" || word == "-n" {
                        skip_value = true;
                    } else if !word.starts_with("--") {
                        url = Some(word.to_owned());
                        break;
                    }
                }
                initrd = url;
            }
            Some("sanboot" | "exit") if kernel.is_none() => local = true,
            _ => {}
        }
    }
    match (kernel, initrd) {
        (Some(kernel), Some(initrd)) => Ok(BootPlan::Ramdisk { kernel, initrd, args }),
        (None, None) if local => Ok(BootPlan::Local),
        _ => Err(SimError::Boot("the boot script names no kernel and ramdisk".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bootnets_deploy_script() {
        let script = "#!ipxe\necho FERRIC-IPXE-SCRIPT mode=deploy node=n1\n\
            kernel tftp://10.0.0.1/k initrd=ramdisk ipa-api-url=http://10.0.0.1:6385 console=ttyS0 || goto fail\n\
            initrd --name ramdisk http://10.0.0.1:8080/files/r || goto fail\n\
            echo FERRIC-BOOTING-KERNEL\nboot || goto fail\n:fail\necho FERRIC-BOOT-FAILED\nexit 1\n";
        let plan = parse(script).unwrap();
        assert_eq!(
            plan,
            BootPlan::Ramdisk {
                kernel: "tftp://10.0.0.1/k".into(),
                initrd: "http://10.0.0.1:8080/files/r".into(),
                args: vec![
                    "initrd=ramdisk".into(),
                    "ipa-api-url=http://10.0.0.1:6385".into(),
                    "console=ttyS0".into()
                ],
            }
        );
        assert_eq!(plan.arg("ipa-api-url"), Some("http://10.0.0.1:6385"));
        assert_eq!(plan.arg("ipa-api"), None);
    }

    #[test]
    fn local_boot_and_garbage() {
        let local = "#!ipxe\necho FERRIC-IPXE-SCRIPT mode=local node=n1\n\
            iseq ${platform} efi && exit 0 ||\nsanboot --no-describe --drive 0x80 || exit 0\n";
        assert_eq!(parse(local).unwrap(), BootPlan::Local);
        assert!(parse("not a script").is_err());
        assert!(parse("#!ipxe\nkernel http://x/k\n").is_err());
    }
}
