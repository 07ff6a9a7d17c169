# Hooks every mmsimmm config adds to its library's runtime: checkpoints that
# load with torch's weights_only=True (the MessageHub stored as plain data)
# and a stop with one line naming the term when a loss becomes NaN/Inf.
custom_hooks = [
    dict(type='mmsimmm.PlainMessageHubHook'),
    dict(type='mmsimmm.FiniteLossHook')
]
