//! ferric-imagecache
