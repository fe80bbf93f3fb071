"""Why the shortcut works, measured: five small experiments on plain and residual networks (issue 8).

Each module holds one experiment and is pure PyTorch (no Streamlit, no Plotly):

- :mod:`~resnet_core.insight.gradflow`: relative gradient norm of every conv layer at initialisation.
- :mod:`~resnet_core.insight.shattered`: the gradient along a line of inputs and its neighbour
  correlation (Balduzzi et al., 2017).
- :mod:`~resnet_core.insight.lesion`: delete blocks of a trained net at test time (Veit et al., 2016).
- :mod:`~resnet_core.insight.responses`: std of each 3x3 layer's response (He et al., 2015, Fig. 7).
- :mod:`~resnet_core.insight.landscape`: a 1-D loss slice along a filter-normalised direction
  (Li et al., 2018).

:mod:`~resnet_core.insight.nets` builds the networks at initialisation, :mod:`~resnet_core.insight.trained`
loads the trained ones, :mod:`~resnet_core.insight.probe` prepares the images.
:mod:`~resnet_core.insight.specs` lists the five (name, title, run function, result type, verdict) for
the page and the CLI; :mod:`~resnet_core.insight.runs` runs them over several nets into the typed
results of :mod:`~resnet_core.insight.results`, and :mod:`~resnet_core.insight.verdicts` says what they show.
"""
