"""Stage 2 — from the loaded files to the analysis file: the published preparation rules, the follow-up
windows and their outcomes, and the exclusion log with its flow table."""
