"""makegood: next-best complaint resolution under a compensation budget."""
