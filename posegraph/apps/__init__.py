"""Applications built on the runtime and the calculator library (they run graphs and have their own commands);
kept out of `posegraph.calculators`, which holds only calculators and what they need."""
