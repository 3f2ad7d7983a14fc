r"""Backpropagation, explained with the engine's own numbers.

:func:`explain` runs one forward and one backward sweep of a network on a batch and
returns a :class:`Trace`: for every layer the input, the pre-activation, the
activation, the error vector, :math:`\partial J/\partial W` and
:math:`\partial J/\partial b`, taken from the layers after the engine's own sweep
(nothing of the algorithm is computed a second time). The trace renders in the
notation of one of the lecture notes:

============  ==========================================  =================================  =====================
notation      source                                      forward, column vectors            weight matrix shown
============  ==========================================  =================================  =====================
goodfellow    Goodfellow et al., *Deep Learning*          :math:`\alpha = b + W h`           ``layer.W.T`` (out x in)
nielsen       Nielsen, *Neural Networks and Deep Learning*  :math:`z = w a + b`              ``layer.W.T`` (out x in)
hagan         Hagan et al., *Neural Network Design*       :math:`n = W^\top \hat a + b`      ``layer.W`` (in x out)
rousseau      Rousseau's lecture notes                    :math:`x^{(k)} = \sigma(W^\top x^{(k-1)} + b)`  ``layer.W``
============  ==========================================  =================================  =====================

as plain text (``str(trace)``), Markdown, LaTeX (:meth:`Trace.to_latex`, optionally a
complete document) or a dict/JSON for programs.

The package is laid out in the order data -> words -> pages:

* :mod:`.trace`: the numbers (:class:`LayerTrace`, :class:`Trace`, :func:`explain`);
* :mod:`.document`: a small document model (:class:`~.document.Sym`, :class:`~.document.Eq`, ...);
* :mod:`.notations`: the notations, each turning a trace into a document in its own symbols;
* :mod:`.renderers`: text, Markdown and LaTeX, knowing nothing of backpropagation;
* :mod:`.examples`: the worked examples of the lecture notes (:func:`example`);
* :mod:`.spec`: a network written by hand in a small JSON file (:func:`load_spec`).

The module itself is callable: ``deltaprop.explain(net, X, T)`` is
``deltaprop.explain.explain(net, X, T)``.

Gradient descent on Rousseau's example function is in :mod:`deltaprop.descent`; the
command ``deltaprop explain`` is in :mod:`deltaprop.cli`.
"""

from __future__ import annotations

import sys
import types

from .document import (ARROW, CIRCLED, EQ, MINUS, ODOT, PLUS, TIMES, Code, Eq, Heading, Mat,
                       Para, S, Sym, Table)
from .examples import EXAMPLES, Example, example, explain_example
from .notations import (NOTATIONS, Goodfellow, Hagan, Nielsen, Notation, Rousseau,
                        build_document, get_notation)
from .renderers import (FORMATS, LatexRenderer, MarkdownRenderer, TextRenderer, latex_escape,
                        render)
from .spec import NetworkSpec, SpecError, load_spec, spec_of
from .trace import LayerTrace, Trace, explain

__all__ = [
    # the numbers
    "LayerTrace", "Trace", "explain",
    # the worked examples
    "EXAMPLES", "Example", "example", "explain_example",
    # a network written by hand
    "NetworkSpec", "SpecError", "load_spec", "spec_of",
    # the notations
    "NOTATIONS", "Notation", "Goodfellow", "Nielsen", "Hagan", "Rousseau", "get_notation",
    "build_document",
    # the renderers
    "FORMATS", "render", "TextRenderer", "MarkdownRenderer", "LatexRenderer", "latex_escape",
    # the document model
    "Sym", "Mat", "Eq", "Para", "Heading", "Table", "Code", "S", "EQ", "PLUS", "MINUS", "ODOT",
    "TIMES", "ARROW", "CIRCLED",
]


class _CallableModule(types.ModuleType):
    """This package, callable as :func:`explain` (``deltaprop.explain(net, X, T)``)."""

    def __call__(self, *args, **kwargs):
        return explain(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
