"""REST API of projects, versions, positions, diffs, imports and comments: one view per operation,
each validating its input, calling one service or selector and shaping the output."""
