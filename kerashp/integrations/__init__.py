"""kerashp's bridges to other tools (optional extras, imported only when asked for):

- `kerashp.integrations.optuna_export`: a study directory as an Optuna study
  (`kerashp export optuna`, `Results.to_optuna`), for optuna-dashboard, importance
  and Optuna's plots (`pip install "kerashp[optuna]"`).
"""
