// A probe of the layer rules (tests/lint/layering.sh): includes LAYERING_PROBE_HEADER while
// linking one layer only. It compiles exactly when that layer may include that header.
#include LAYERING_PROBE_HEADER
