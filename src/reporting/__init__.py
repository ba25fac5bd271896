"""Reports over many runs: the table (one row per method x backbone x task x setting), its Markdown, the
figures, readable row labels, and the papers' numbers they are held against."""
