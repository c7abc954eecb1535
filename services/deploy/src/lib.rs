//! ferric-deploy
