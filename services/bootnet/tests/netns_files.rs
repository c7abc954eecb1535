//! Real TFTP and HTTP clients against Ferric's bootnet in network namespaces:
//! tftp-hpa, atftp and curl fetch files with and without blksize, tsize and
//! windowsize and get the exact bytes; writes and path traversal are refused;
//! HTTP serves scripts, whole files, ranges and HEAD.

mod common;

use common::lab::{Lab, SERVER_IP, config, noise, run};

const SMALL: usize = 1000;
/// Not a multiple of any block size used below.
const BIG: usize = 3 * 1024 * 1024 + 123;

fn lab_with_files() -> (Lab, Vec<u8>, Vec<u8>, Vec<u8>) {
    let small = noise(SMALL, 1);
    let big = noise(BIG, 2);
    // A multiple of 512: the transfer must end with an empty block.
    let exact = noise(512 * 64, 3);
    let files: [(&str, &[u8]); 3] = [("small.bin", &small), ("images/big.bin", &big), ("exact.bin", &exact)];
    let lab = Lab::new("files", config(), &files);
    std::fs::write(lab.dir.path().join("secret"), b"outside the root").unwrap();
    std::os::unix::fs::symlink(lab.dir.path().join("secret"), lab.root.join("escape")).unwrap();
    (lab, small, big, exact)
}

#[test]
fn tftp_clients_fetch_exact_bytes_with_and_without_options() {
    let (mut lab, small, big, exact) = lab_with_files();
    let client = lab.addressed_client("tftpc");
    let out = |name: &str| lab.path(name).display().to_string();
    let check = |name: &str, expected: &[u8], what: &str| {
        let got = std::fs::read(lab.path(name)).unwrap_or_default();
        assert!(got == expected, "{what}: got {} bytes, expected {}", got.len(), expected.len());
        let _ = std::fs::remove_file(lab.path(name));
    };
    // tftp-hpa: RFC 1350 only (no options).
    for (remote, expected) in [("small.bin", &small), ("images/big.bin", &big), ("exact.bin", &exact)] {
        let (ok, output) =
            run(client.command("tftp").args(["-m", "binary", SERVER_IP, "-c", "get", remote, &out("hpa")]));
        assert!(ok && !output.contains("Error"), "tftp-hpa {remote}: {output}");
        check("hpa", expected, &format!("tftp-hpa {remote}"));
    }
    // atftp: plain, then every option combination that matters.
    let option_sets: [&[&str]; 5] = [
        &[],
        &["--option", "blksize 1468"],
        &["--option", "tsize 0", "--option", "blksize 1468", "--option", "windowsize 16"],
        &["--option", "blksize 65464", "--option", "windowsize 4"],
        &["--option", "timeout 2", "--option", "windowsize 8"],
    ];
    for options in option_sets {
        for (remote, expected) in [("images/big.bin", &big), ("exact.bin", &exact)] {
            let mut command = client.command("atftp");
            command.args(options).args(["-g", "-r", remote, "-l", &out("atftp"), SERVER_IP]);
            let (ok, output) = run(&mut command);
            assert!(ok, "atftp {options:?} {remote}: {output}");
            check("atftp", expected, &format!("atftp {options:?} {remote}"));
        }
    }
    // curl: tsize and blksize by default, a chosen blksize, and no options at all.
    for options in [&[][..], &["--tftp-blksize", "1468"][..], &["--tftp-no-options"][..]] {
        let url = format!("tftp://{SERVER_IP}/images/big.bin");
        let (ok, output) =
            run(client.command("curl").args(["-sS", "-o", &out("curl")]).args(options).arg(&url));
        assert!(ok, "curl {options:?}: {output}");
        check("curl", &big, &format!("curl {options:?}"));
    }
    // 1 tftp-hpa + 5 atftp + 3 curl transfers of the big file, each counted once
    // its last ACK arrived.
    let started = std::time::Instant::now();
    lab.wait_until(std::time::Duration::from_secs(40), "the server to log every transfer", |lab| {
        let served = lab.bootnet.as_ref().unwrap().served().snapshot();
        served
            .iter()
            .filter(|s| s.protocol == "tftp" && s.path == "images/big.bin" && s.bytes == BIG as u64)
            .count()
            == 9
    });
    eprintln!("all logged after {:?}", started.elapsed());
}

#[test]
fn tftp_refuses_writes_and_paths_outside_the_root() {
    let (mut lab, ..) = lab_with_files();
    let client = lab.addressed_client("tftpr");
    let out = lab.path("stolen").display().to_string();
    for name in ["../secret", "/etc/passwd", "escape", "images/../../secret", "missing.bin"] {
        let (ok, output) = run(client.command("atftp").args(["-g", "-r", name, "-l", &out, SERVER_IP]));
        assert!(!ok, "atftp fetched {name}: {output}");
        let expected = if name == "missing.bin" { "file not found" } else { "access violation" };
        assert!(output.to_lowercase().contains(expected), "{name}: {output}");
        let (ok, output) = run(client.command("curl").args([
            "-sS",
            "--path-as-is",
            "-o",
            &out,
            &format!("tftp://{SERVER_IP}/{name}"),
        ]));
        assert!(!ok, "curl fetched {name}: {output}");
        assert!(std::fs::read(&out).map(|b| b != b"outside the root").unwrap_or(true));
    }
    let (_, output) =
        run(client.command("tftp").args(["-m", "binary", SERVER_IP, "-c", "get", "../secret", &out]));
    assert!(output.contains("ccess violation"), "{output}");
    // Writes are refused.
    let local = lab.path("upload");
    std::fs::write(&local, b"data").unwrap();
    let (_, output) = run(client.command("tftp").args([
        "-m",
        "binary",
        SERVER_IP,
        "-c",
        "put",
        &local.display().to_string(),
        "upload",
    ]));
    assert!(output.contains("only serves reads") || output.contains("ccess violation"), "{output}");
    assert!(!lab.root.join("upload").exists());
}

#[test]
fn http_serves_scripts_files_ranges_and_head() {
    let (mut lab, small, big, _) = lab_with_files();
    let client = lab.addressed_client("httpc");
    lab.register(
        "5d6c0a57-4c1b-4b84-9a2f-0f3c1e2d3b4a",
        "52:54:00:12:34:56",
        &format!("http://{SERVER_IP}:8080/files/images/big.bin"),
        &format!("tftp://{SERVER_IP}/small.bin"),
    );
    let base = format!("http://{SERVER_IP}:8080");
    let curl = |args: &[&str]| run(client.command("curl").args(["-sS", "--fail"]).args(args));
    let (ok, script) = curl(&[&format!("{base}/ipxe/52-54-00-12-34-56")]);
    assert!(ok, "{script}");
    assert!(script.starts_with("#!ipxe\n"));
    assert!(
        script.contains(&format!(
            "kernel {base}/files/images/big.bin initrd=ramdisk BOOTIF=${{netX/mac}} console=ttyS0"
        )),
        "{script}"
    );
    assert!(script.contains(&format!("initrd --name ramdisk tftp://{SERVER_IP}/small.bin")), "{script}");
    let (ok, _) = curl(&[&format!("{base}/ipxe/52-54-00-99-99-99")]);
    assert!(!ok, "unregistered MACs get no script");
    let out = lab.path("http.out").display().to_string();
    let (ok, output) = curl(&["-o", &out, &format!("{base}/files/images/big.bin")]);
    assert!(ok, "{output}");
    assert!(std::fs::read(&out).unwrap() == big);
    let (ok, output) = curl(&["-o", &out, "-r", "100-1099", &format!("{base}/files/images/big.bin")]);
    assert!(ok, "{output}");
    assert!(std::fs::read(&out).unwrap() == big[100..1100]);
    let (ok, output) = curl(&["-o", &out, "-r", "-10", &format!("{base}/files/small.bin")]);
    assert!(ok, "{output}");
    assert_eq!(std::fs::read(&out).unwrap(), small[SMALL - 10..]);
    let (ok, headers) = curl(&["-I", &format!("{base}/files/images/big.bin")]);
    assert!(
        ok && headers.contains(&format!("content-length: {BIG}")) && headers.contains("accept-ranges: bytes"),
        "{headers}"
    );
    let (_, status) = run(client.command("curl").args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-r",
        &format!("{BIG}-"),
        &format!("{base}/files/images/big.bin"),
    ]));
    assert_eq!(status, "416");
    for name in ["../secret", "escape", "%2e%2e/secret"] {
        let (_, status) = run(client.command("curl").args([
            "-s",
            "--path-as-is",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{base}/files/{name}"),
        ]));
        assert!(status == "403" || status == "404", "{name}: {status}");
    }
}
