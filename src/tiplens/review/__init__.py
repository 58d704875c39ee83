"""Systematic review and document coding: references, screening, PRISMA, agreement, codebooks.

Submodules are imported where they are used so that ``import tiplens.review`` stays light:
``references`` (import and de-duplicate BibTeX/RIS/CSV/ASReview), ``screening`` (the
append-only screening log), ``prisma`` (PRISMA 2020 counts and flow diagram),
``agreement`` (kappa, PABAK, Fleiss, Krippendorff), and the document-coding modules.
"""
