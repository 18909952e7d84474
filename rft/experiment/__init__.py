"""`rft experiment`: a recipe (YAML) as cells, each one plain `rft` command with its own output folder;
`run` executes the cells not done in dependency order and resumes after a kill; `report` gathers what
the cells wrote. Modules: `recipe` (the schema and its checks), `cells` (planning and completion
markers), `run` (the runner), `scripts` (shell and Slurm), `report`."""
