"""data_prep wiring."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from neura_scholar.pipelines.data_prep import nodes


def create_pipeline(**kwargs: Any) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.validate_corpus,
                ["raw_papers", "raw_fulltext", "params:data_prep.validation"],
                ["corpus_papers", "corpus_sections", "corpus_validation"],
                name="validate_corpus",
            ),
            Node(
                nodes.sample_corpus,
                ["corpus_papers", "corpus_sections", "params:data_prep.sample"],
                ["papers", "paper_sections"],
                name="sample_corpus",
            ),
            Node(
                nodes.chunk_papers,
                ["papers", "paper_sections", "encoder_tokenizer", "params:data_prep.chunking"],
                "paper_chunks@pandas",
                name="chunk_papers",
            ),
            Node(
                nodes.count_chunk_terms,
                ["paper_chunks@pandas", "params:data_prep.terms"],
                "term_document_frequency",
                name="count_chunk_terms",
            ),
            Node(
                nodes.build_heldout_set,
                [
                    "papers",
                    "paper_chunks@pandas",
                    "term_document_frequency",
                    "params:data_prep.heldout",
                    "params:data_prep.terms",
                ],
                "heldout",
                name="build_heldout_set",
            ),
            Node(
                nodes.build_slice_set,
                ["heldout", "papers", "params:data_prep.slices"],
                "slices",
                name="build_slice_set",
            ),
            Node(
                nodes.build_perturbation_set,
                ["heldout", "params:data_prep.perturbations"],
                "perturbations",
                name="build_perturbation_set",
            ),
            Node(
                nodes.build_failure_set,
                [
                    "papers",
                    "paper_chunks@pandas",
                    "term_document_frequency",
                    "encoder_tokenizer",
                    "params:data_prep.failures",
                    "params:data_prep.terms",
                ],
                "failures",
                name="build_failure_set",
            ),
            Node(
                nodes.summarise_data_prep,
                [
                    "corpus_validation",
                    "papers",
                    "paper_sections",
                    "paper_chunks@pandas",
                    "heldout",
                    "slices",
                    "perturbations",
                    "failures",
                    "params:data_prep.slices",
                ],
                ["data_prep_summary", "data_prep_metrics"],
                name="summarise_data_prep",
            ),
        ]
    )
