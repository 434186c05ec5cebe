// Mixture-of-experts router: softmax over experts, top-k, renormalized weights, and the
// Switch-Transformer load-balancing loss.
//
// Per row: p = softmax(logits); indices = the k experts of largest p, largest first
// (ties: lower index first); weights = p[indices] / Σ p[indices], so they sum to 1.
// Thread-safety: reentrant; rows are split over the kernels' thread pool (parallel.h).
#ifndef LIGHTRL_KERNELS_ROUTER_H_
#define LIGHTRL_KERNELS_ROUTER_H_

#include <cstdint>

namespace lightrl::kernels {

// logits [rows, experts] = x [rows, hidden] · gate [experts, hidden]ᵀ, one fixed-order dot
// product per entry (a GEMM this narrow would be mostly padding for MatMulWt's row
// stability; this is row-stable by construction).
template <typename T>
void RouterLogits(const T* x, int rows, int hidden, const T* gate, int experts, T* logits);

// logits, probs: [rows, experts]; indices, weights: [rows, top_k].
template <typename T>
void RouterForward(const T* logits, int rows, int experts, int top_k, T* probs, int32_t* indices,
                   T* weights);

// dlogits [rows, experts] (written) from dweights [rows, top_k] = ∂L/∂weights plus, when
// not null, dprobs [rows, experts] = a direct gradient on the probabilities (the
// load-balancing loss).
template <typename T>
void RouterBackward(const T* probs, const int32_t* indices, const T* weights, const T* dweights,
                    const T* dprobs, int rows, int experts, int top_k, T* dlogits);

// Load-balancing statistics of a batch of rows, accumulated over calls (layers):
// routed[e] += #(row, slot) sent to expert e; prob_sum[e] += Σ_rows p[row, e].
template <typename T>
void RouterAccumulateStats(const T* probs, const int32_t* indices, int rows, int experts, int top_k,
                           double* routed, double* prob_sum);

// The load-balancing loss over `total_rows` routed rows (rows × MoE layers), as
// transformers' load_balancing_loss_func: experts · Σ_e (routed[e]/R) · (prob_sum[e]/R).
double RouterAuxLoss(const double* routed, const double* prob_sum, int experts, double total_rows);

// ∂(aux loss)/∂p[row, e], the same for every row: experts · routed[e] / R².
void RouterAuxLossGradient(const double* routed, int experts, double total_rows,
                           double* dprob_per_expert);

}  // namespace lightrl::kernels

#endif  // LIGHTRL_KERNELS_ROUTER_H_
