# SMM on RefineNet-R101, evaluated on Nighttime Driving test only (for users
# who have not downloaded Dark Zurich).
_base_ = ['./darkzurich_simmm.py']
val_dataloader = [{{_base_.night_driving_loader}}]
test_dataloader = val_dataloader
val_evaluator = [{{_base_.night_driving_metric}}]
test_evaluator = val_evaluator
