"""How a run reports progress: one Reporter interface that every front end watches."""
