"""Rule packs shipped with csbm, as data (one YAML file per regime)."""
