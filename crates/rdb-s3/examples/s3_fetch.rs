//! Lists the dumps an `s3://` URL names, in shard order, and downloads them into a directory,
//! verified: `cargo run -p rdb-s3 --example s3_fetch -- s3://bucket/prefix/ DIR`
//! (credentials and region from the environment or ~/.aws, as the AWS CLI;
//! AWS_ENDPOINT_URL for an S3-compatible store).

use std::path::PathBuf;

use rdb_s3::{local_name, S3Config, S3Options, S3Url, S3};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: s3_fetch s3://bucket/key-or-prefix/ DIR");
        std::process::exit(2);
    };
    let url = S3Url::parse(&url)?;
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    let s3 = S3::new(&S3Config::default(), S3Options::default())?;
    for object in s3.resolve(&url)? {
        // `true`: the copy stays when `copy` is dropped.
        let copy = s3.download(&object, &dir.join(local_name(&object.url.key)), true)?;
        println!(
            "{}  {} bytes  {} GET(s)  checked: {}",
            object.url,
            object.size,
            copy.gets,
            copy.verified.join(", ")
        );
    }
    Ok(())
}
