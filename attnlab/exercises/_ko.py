"""The Korean texts of the checkers' reports (``attnlab.exercises.set_language("ko")``), keyed by their English.

The harness's phrases (templates: ``{name}`` and the like are filled in after translation), then each checker's group
names, group hints and mistake hints. tests/test_exercises.py fails when a report asks for a text missing here, so a
new hint comes with its Korean. Terms follow the book's glossary (book/glossary.md).
"""

KO: dict[str, str] = {
    # The harness (_harness.py).
    "✓ {name} ({n} cases)": "✓ {name} (사례 {n}개)",
    "✓ {name} (1 case)": "✓ {name} (사례 1개)",
    "{name}: not attempted yet (the stub still raises NotImplementedError)":
        "{name}: 아직 시도하지 않았습니다 (스텁이 아직 NotImplementedError를 일으킵니다)",
    "your code raised {kind}: {error}": "작성한 코드가 {kind}를 일으켰습니다: {error}",
    "it could not be compared: {kind}: {error}": "비교할 수 없습니다: {kind}: {error}",
    "expected: {expected}\n  got:      {got}\n  ({reason})": "기대한 값: {expected}\n  받은 값:   {got}\n  ({reason})",
    "  hint: {hint}": "  힌트: {hint}",
    "expected the bool {value}": "bool 값 {value}를 기대했습니다",
    "expected a number, got {kind}": "수를 기대했지만 받은 것은 {kind}입니다",
    "a different number": "다른 수입니다",
    "expected a {kind} of {n} items": "{kind}(항목 {n}개)를 기대했습니다",
    "item {i}: {reason}": "항목 {i}: {reason}",
    "a different value": "다른 값입니다",
    "expected a tensor, got {kind}": "텐서를 기대했지만 받은 것은 {kind}입니다",
    "expected shape {expected}, got shape {got}": "기대한 모양은 {expected}인데, 받은 모양은 {got}입니다",
    "expected a bool tensor (True = may attend), got dtype {dtype}":
        "bool 텐서(True = 어텐션 가능)를 기대했지만 받은 텐서의 dtype은 {dtype}입니다",
    "different entries": "항목이 다릅니다",
    "your result contains NaN": "결과에 NaN이 있습니다",
    "largest difference {value:.3g}": "가장 큰 차이 {value:.3g}",
    "tensor of shape {shape}, {dtype}": "모양 {shape}, {dtype} 텐서",
    "a {kind} module": "{kind} 모듈",
    # weighted_average.py
    "the chapter's four keys": "이 장의 키 네 개",
    "random sizes": "무작위 크기",
    "scores q . k_j for every key, a softmax over the keys, then the weighted sum of the values":
        "모든 키에 대해 점수 q . k_j를 구하고, 키들에 대해 소프트맥스를 취한 다음, 값들의 가중합을 구하세요",
    "the weights must be a softmax of the scores: positive and summing to one": "가중치는 점수의 소프트맥스여야 합니다. 모두 양수이고 합이 1입니다",
    "chapter 1 uses the plain dot product q . k, without a 1/sqrt(d) scale": "1장은 1/sqrt(d) 스케일 없이 평범한 내적 q . k를 씁니다",
    "the output is a weighted average of the values, not of the keys": "출력은 키가 아니라 값들의 가중 평균입니다",
    "three training points": "학습 점 세 개",
    "random data, two bandwidths": "무작위 데이터, 대역폭 두 가지",
    "weights softmax_i(-(x - x_i)^2 / (2 h^2)) over the training points i, then the weighted sum of y_i":
        "학습 점 i에 대한 가중치 softmax_i(-(x - x_i)^2 / (2 h^2))를 구한 다음, y_i의 가중합을 구하세요",
    "normalise over the training points (each query's weights sum to one), not over the queries":
        "쿼리들이 아니라 학습 점들에 대해 정규화하세요(각 쿼리의 가중치 합이 1이 됩니다)",
    "the Gaussian kernel uses the squared distance (x - x_i)^2": "가우스 커널은 거리의 제곱 (x - x_i)^2을 씁니다",
    "divide the squared distance by 2 h^2, not by h^2": "거리의 제곱을 h^2이 아니라 2 h^2으로 나누세요",
    "the score is minus the squared distance: nearer points must weigh more":
        "점수는 거리의 제곱에 마이너스를 붙인 값입니다. 가까운 점일수록 가중치가 커야 합니다",
    # encoder_decoder.py
    "GRUCell with copied weights": "가중치를 복사한 GRUCell",
    "r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z likewise, n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - "
    "z) n + z h":
        "r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z도 같은 방식으로 구하고, n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), "
        "h' = (1 - z) n + z h입니다",
    "the update gate z keeps the old state: h' = (1 - z) * n + z * h":
        "업데이트 게이트 z는 이전 상태를 유지하는 쪽입니다: h' = (1 - z) * n + z * h",
    "torch stacks the gates as reset, update, new (r, z, n) in weight_ih and weight_hh":
        "torch는 weight_ih와 weight_hh에 게이트를 리셋, 업데이트, 새 게이트 순서(r, z, n)로 쌓습니다",
    "the reset gate multiplies W_hn h + b_hn, its bias included": "리셋 게이트는 편향까지 포함한 W_hn h + b_hn 전체에 곱해집니다",
    "toy models": "장난감 모델",
    "each step: feed the whole prefix (N, t), take the argmax of the last log-probabilities, append it":
        "스텝마다 접두 시퀀스 전체 (N, t)를 넣고, 마지막 위치의 로그 확률에서 argmax를 골라 덧붙이세요",
    "return the tokens after <bos>, without <bos> itself": "<bos> 자체는 빼고 <bos> 뒤의 토큰들을 돌려주세요",
    "stop as soon as the model produces <eos>": "모델이 <eos>를 내놓는 즉시 멈추세요",
    "keep the <eos> token at the end of the output": "출력 끝의 <eos> 토큰은 남겨 두세요",
    # additive_attention.py
    "additive scores": "가산 점수",
    "W s_prev is (B, d_a), U h is (B, T, d_a): add them with broadcasting, tanh, then the dot product with v":
        "W s_prev는 (B, d_a), U h는 (B, T, d_a)입니다. 브로드캐스팅으로 둘을 더하고 tanh를 적용한 다음 v와 내적하세요",
    "tanh is missing: e = v . tanh(W s + U h_j)": "tanh가 빠졌습니다: e = v . tanh(W s + U h_j)",
    "return the scores e, before the softmax": "소프트맥스를 적용하기 전의 점수 e를 돌려주세요",
    "W projects the decoder state s_prev, U the annotations h": "W는 디코더 상태 s_prev를, U는 주석 벡터 h를 투영합니다",
    "context vectors over padded sources": "패딩된 소스에 대한 문맥 벡터",
    "scores (B, T) -> masked softmax over T -> context = sum_j alpha_j h_j":
        "점수 (B, T) -> T에 대한 마스크드 소프트맥스 -> 문맥 벡터 context = sum_j alpha_j h_j",
    "padded source positions got weight: mask them before the softmax": "패딩된 소스 위치가 가중치를 받았습니다. 소프트맥스 전에 마스크하세요",
    "filling masked scores with 0 still gives them weight; use -inf (or masked_softmax)":
        "마스크된 점수를 0으로 채우면 여전히 가중치를 받습니다. -inf(또는 masked_softmax)를 쓰세요",
    "softmax over the source positions (the last axis), not over the batch": "소프트맥스는 배치가 아니라 소스 위치(마지막 축)에 대해 취하세요",
    # alignment_scores.py
    "general scores": "일반 점수",
    "(B, Tq, d_t) @ (d_t, d_s) @ (B, d_s, Tk) -> (B, Tq, Tk)":
        "모양으로 쓰면 (B, Tq, d_t) @ (d_t, d_s) @ (B, d_s, Tk) -> (B, Tq, Tk)입니다",
    "Luong's general score has no 1/sqrt(d) scale": "Luong의 일반 점수에는 1/sqrt(d) 스케일이 없습니다",
    "W is (d_t, d_s): the score is h_t W h_s^T, not h_t W^T h_s":
        "W는 (d_t, d_s)입니다. 점수는 h_t W^T h_s가 아니라 h_t W h_s^T입니다",
    "W is left out: that is the dot score": "W가 빠졌습니다. 그것은 내적 점수입니다",
    "concat scores": "연결 점수",
    "pair every query with every key (B, Tq, Tk, d_t + d_s), then W, tanh and v":
        "모든 쿼리를 모든 키와 짝지은 뒤(B, Tq, Tk, d_t + d_s), W, tanh, v를 차례로 적용하세요",
    "tanh is missing: v . tanh(W [h_t; h_s])": "tanh가 빠졌습니다: v . tanh(W [h_t; h_s])",
    "return the scores, before the softmax": "소프트맥스를 적용하기 전의 점수를 돌려주세요",
    "concatenate the query first: [h_t; h_s]": "쿼리를 앞에 두고 연결하세요: [h_t; h_s]",
    # image_captioning.py
    "feature grids": "특징 격자",
    "annotations a = (B, H W, D) in raster order; scores v . tanh(W_h h + W_a a_i); softmax over the cells":
        "래스터 순서의 주석 벡터 a = (B, H W, D), 점수 v . tanh(W_h h + W_a a_i), 격자 칸들에 대한 소프트맥스입니다",
    "reshaping (B, D, H, W) to (B, H W, D) directly mixes channels and positions: move the channel axis last first "
    "(flatten(2).transpose(1, 2))":
        "(B, D, H, W)를 (B, H W, D)로 바로 reshape하면 채널과 위치가 뒤섞입니다. 먼저 채널 축을 맨 뒤로 옮기세요(flatten(2).transpose(1, 2))",
    "alpha must be a softmax over the grid cells of each image, not over the batch":
        "alpha는 배치가 아니라 각 이미지의 격자 칸들에 대한 소프트맥스여야 합니다",
    "cells go in raster order, row by row: cell (r, c) is index r * W + c":
        "칸은 래스터 순서, 즉 행 단위로 놓입니다. 칸 (r, c)의 인덱스는 r * W + c입니다",
    "random attention over captions": "캡션에 대한 무작위 어텐션",
    "zero the padded steps, sum alpha over t, then (1 - that)^2 summed over i, mean over the batch":
        "패딩된 스텝을 0으로 만들고 alpha를 t에 대해 합한 다음, (1 - 그 합)^2을 i에 대해 합하고 배치에 대해 평균하세요",
    "sum over the time steps t for each location i (alpha.sum(1)), not over the locations":
        "위치들에 대해 합하지 말고, 위치 i마다 시간 스텝 t에 대해 합하세요(alpha.sum(1))",
    "leave the padded steps (steps False) out of the sum": "패딩된 스텝(steps가 False인 곳)은 합에서 빼세요",
    "square each location's (1 - sum_t alpha) before summing": "합하기 전에 위치마다 (1 - sum_t alpha)를 제곱하세요",
    "average over the batch, do not sum": "배치에 대해 합하지 말고 평균하세요",
    # beam_search.py
    "finished hypotheses": "완료된 가설",
    "score = log_prob / ((5 + len(tokens)) / 6) ** alpha; return (tokens, score) pairs sorted best first":
        "점수는 score = log_prob / ((5 + len(tokens)) / 6) ** alpha입니다. (tokens, score) 쌍을 가장 좋은 것부터 정렬해 돌려주세요",
    "the length penalty uses the wrong length: count the tokens after <bos>, <eos> included (len(tokens))":
        "길이 패널티에 잘못된 길이를 썼습니다. <bos> 뒤의 토큰을 <eos>까지 포함해 세세요(len(tokens))",
    "divide the log-probability by the penalty, do not multiply": "로그 확률에 패널티를 곱하지 말고, 패널티로 나누세요",
    "best first: sort by score from highest to lowest": "가장 좋은 것부터: 점수가 높은 것에서 낮은 것 순으로 정렬하세요",
    "beam steps": "빔 서치 스텝",
    "totals = scores[:, None] + log_probs; the beam_size largest of totals.flatten(), parent and token from the index":
        "totals = scores[:, None] + log_probs입니다. totals.flatten()에서 가장 큰 beam_size개를 고르고, 그 인덱스에서 부모 접두 시퀀스와 토큰을 구하세요",
    "add each prefix's score to the log-probabilities of its continuations": "각 접두 시퀀스의 점수를 그 뒤에 이어지는 토큰들의 로그 확률에 더하세요",
    "index i of the flattened (k, V) matrix is prefix i // V and token i % V":
        "펼친 (k, V) 행렬의 인덱스 i는 접두 시퀀스 i // V와 토큰 i % V를 가리킵니다",
    "compare the candidates of all prefixes together (flatten the (k, V) totals), not only the best token of each "
    "prefix":
        "접두 시퀀스마다 가장 좋은 토큰만 보지 말고, 모든 접두 시퀀스의 후보를 함께 비교하세요((k, V) 합계를 펼칩니다)",
    # scaled_dot_product.py ("no mask" and "with a mask" also in multi_head.py)
    "no mask": "마스크 없음",
    "with a mask": "마스크 있음",
    "scores q k^T / sqrt(d_k) of shape (..., Tq, Tk), softmax over the keys, then @ v":
        "모양이 (..., Tq, Tk)인 점수 q k^T / sqrt(d_k)를 구하고, 키들에 대해 소프트맥스를 취한 다음 @ v 하세요",
    "masked keys get weight 0: set their scores to -inf before the softmax":
        "마스크된 키는 가중치 0을 받습니다. 소프트맥스 전에 그 점수를 -inf로 두세요",
    "a query with no allowed key": "허용된 키가 없는 쿼리",
    "a fully masked row must give zero weights and a zero output, never NaN":
        "완전히 마스크된 행은 NaN이 아니라 0인 가중치와 0인 출력을 내야 합니다",
    "the scale is missing: divide the scores by sqrt(d_k)": "스케일이 빠졌습니다. 점수를 sqrt(d_k)로 나누세요",
    "the scale is applied twice (or as 1/d_k): divide the scores by sqrt(d_k) once":
        "스케일을 두 번(또는 1/d_k로) 적용했습니다. 점수를 sqrt(d_k)로 한 번만 나누세요",
    "softmax over the wrong axis: each query's weights run over the keys (the last axis)":
        "소프트맥스의 축이 틀렸습니다. 각 쿼리의 가중치는 키들(마지막 축)에 걸쳐 있습니다",
    "a query whose keys are all masked gives NaN: its weights and output must be zeros":
        "키가 모두 마스크된 쿼리에서 NaN이 나옵니다. 그 쿼리의 가중치와 출력은 0이어야 합니다",
    "filling masked scores with a large negative number gives a fully masked query uniform weights over keys it may "
    "not see: its output must be zeros":
        "마스크된 점수를 큰 음수로 채우면, 완전히 마스크된 쿼리가 볼 수 없는 키들에 균등한 가중치를 줍니다. 그 쿼리의 출력은 0이어야 합니다",
    "Jacobians": "야코비 행렬",
    "J = diag(p) - p p^T, batched over the leading dimensions": "J = diag(p) - p p^T를 앞쪽 차원들에 대해 배치로 계산하세요",
    "the off-diagonal entries -p_i p_j are missing": "비대각 항목 -p_i p_j가 빠졌습니다",
    "only diag(p): subtract the outer product p p^T": "diag(p)만 있습니다. 외적 p p^T를 빼세요",
    "the sign is flipped: J = diag(p) - p p^T": "부호가 뒤집혔습니다: J = diag(p) - p p^T",
    # self_attention.py
    "projected self-attention": "투영을 포함한 셀프 어텐션",
    "project x three times, then scaled dot-product attention": "x를 세 번 투영한 다음 스케일드 내적 어텐션을 적용하세요",
    "softmax over the wrong axis: token i's weights run over the keys j (the last axis)":
        "소프트맥스의 축이 틀렸습니다. 토큰 i의 가중치는 키 j들(마지막 축)에 걸쳐 있습니다",
    "weights[i, j] is query i against key j: Q K^T, not K Q^T":
        "weights[i, j]는 쿼리 i가 키 j에 주는 가중치입니다. K Q^T가 아니라 Q K^T입니다",
    "the values are x W_v, not x itself": "값은 x 자체가 아니라 x W_v입니다",
    "scale by 1/sqrt(d_k), the width of the queries and keys, not of the tokens":
        "1/sqrt(d_k)로 스케일하세요. d_k는 토큰의 너비가 아니라 쿼리와 키의 너비입니다",
    "layers with a known answer": "답을 알고 있는 층",
    "return a Python bool": "Python bool을 돌려주세요",
    "an equivariant layer moves its outputs with its inputs: compare layer(x[:, perm]) with layer(x)[:, perm] (not "
    "with layer(x)), with a float tolerance (torch.allclose)":
        "등변적인 층은 입력을 옮기면 출력도 함께 옮깁니다. layer(x[:, perm])를 layer(x)가 아니라 layer(x)[:, perm]와, 부동소수점 허용 오차를 "
        "두고(torch.allclose) 비교하세요",
    "shuffle the tokens (dim 1) with a permutation that really moves them; shuffling the batch, or the identity "
    "permutation, changes nothing":
        "토큰(dim 1)을 실제로 자리가 바뀌는 순열로 섞으세요. 배치를 섞거나 항등 순열을 쓰면 아무것도 바뀌지 않습니다",
    # masking.py (the second inverted-mask hint also in scaled_dot_product.py and multi_head.py)
    "small rows": "작은 행",
    "fill masked scores with -inf, then softmax": "마스크된 점수를 -inf로 채운 다음 소프트맥스를 취하세요",
    "a broadcast mask": "브로드캐스트되는 마스크",
    "the mask broadcasts against the scores": "마스크는 점수의 모양에 맞춰 브로드캐스트됩니다",
    "a row with nothing allowed": "허용된 위치가 없는 행",
    "detect the rows with no allowed position and give them zeros": "허용된 위치가 없는 행을 찾아 0을 주세요",
    "softmax over the wrong axis: normalise each row (the last axis)": "소프트맥스의 축이 틀렸습니다. 각 행(마지막 축)을 정규화하세요",
    "a row with no allowed position gives NaN: its weights must be zeros":
        "허용된 위치가 없는 행에서 NaN이 나옵니다. 그 행의 가중치는 0이어야 합니다",
    "filling with a large negative number gives a fully masked row uniform weights: they must be zeros":
        "큰 음수로 채우면 완전히 마스크된 행이 균등한 가중치를 받습니다. 그 가중치는 0이어야 합니다",
    "square masks": "정사각 마스크",
    "lower triangle: j <= i": "아래 삼각형입니다: j <= i",
    "more keys than queries": "쿼리보다 키가 많은 경우",
    "query i is position i + n_keys - n_queries": "쿼리 i는 위치 i + n_keys - n_queries입니다",
    "the causal diagonal is off by one: a position may attend itself":
        "인과 마스크의 대각선이 한 칸 어긋났습니다. 위치는 자기 자신에게 어텐션할 수 있습니다",
    "the mask is inverted: True means 'may attend' (the past and the present)":
        "마스크가 반대로 되어 있습니다. True는 '어텐션할 수 있음'(과거와 현재)을 뜻합니다",
    "the mask is inverted: True means 'may attend'": "마스크가 반대로 되어 있습니다. True는 '어텐션할 수 있음'을 뜻합니다",
    "with more keys than queries the queries are the last positions: shift the triangle by n_keys - n_queries":
        "키가 쿼리보다 많으면 쿼리는 마지막 위치들입니다. 삼각형을 n_keys - n_queries만큼 옮기세요",
    "orderings": "입력 순서",
    "mask[k, k'] = 1 where the unit k of the next layer may see unit k' of this one, by their degrees":
        "다음 층의 유닛 k가 이 층의 유닛 k'을 볼 수 있는 곳에서 mask[k, k'] = 1입니다. 볼 수 있는지는 차수로 정해집니다",
    "output i may see only degrees strictly below its own (>), or it sees x_i itself":
        "출력 i는 자기 차수보다 엄격히 작은 차수만 볼 수 있습니다(>). 그렇지 않으면 x_i 자신을 보게 됩니다",
    "a hidden unit may see units of equal degree (>=)": "은닉 유닛은 차수가 같은 유닛도 볼 수 있습니다(>=)",
    "the output layer must use the ordering's degrees (input_degrees), not 1..D":
        "출력 층은 1..D가 아니라 입력 순서의 차수(input_degrees)를 써야 합니다",
    # multi_head.py
    "splits": "헤드 나누기",
    "x.view(B, T, H, d_head).transpose(1, 2)": "x.view(B, T, H, d_head).transpose(1, 2)로 나눕니다",
    "heads split in the wrong order: view as (B, T, H, d_head), then swap T and H; viewing as (B, H, T, d_head) "
    "directly mixes positions into heads":
        "헤드를 잘못된 순서로 나눴습니다. (B, T, H, d_head)로 view한 다음 T와 H를 맞바꾸세요. 바로 (B, H, T, d_head)로 view하면 위치가 헤드에 섞여 들어갑니다",
    "head h takes the contiguous features [h d_head, (h+1) d_head), not every H-th feature":
        "헤드 h는 H개 간격으로 떨어진 특징이 아니라 연속된 특징 [h d_head, (h+1) d_head)를 맡습니다",
    "the heads come before time: transpose (B, T, H, d_head) to (B, H, T, d_head)":
        "헤드 축이 시간 축보다 앞에 옵니다. (B, T, H, d_head)를 (B, H, T, d_head)로 transpose하세요",
    "project, split into heads, attend per head, merge the heads, project out":
        "투영하고, 헤드로 나누고, 헤드마다 어텐션한 뒤, 헤드를 합치고 출력 투영을 적용하세요",
    "heads split in the wrong order: view (B, T, d_model) as (B, T, H, d_head), then transpose to (B, H, T, d_head)":
        "헤드를 잘못된 순서로 나눴습니다. (B, T, d_model)을 (B, T, H, d_head)로 view한 다음 (B, H, T, d_head)로 transpose하세요",
    "scale each head's scores by 1/sqrt(d_head), not 1/sqrt(d_model)":
        "각 헤드의 점수를 1/sqrt(d_model)이 아니라 1/sqrt(d_head)로 스케일하세요",
    "the output projection out_proj is missing": "출력 투영 out_proj가 빠졌습니다",
    # positional_encoding.py
    "tables": "사인파 테이블",
    "angle = pos * 10000^(-2i/d) for pair i; column 2i holds its sine, column 2i+1 its cosine":
        "쌍 i의 각도는 angle = pos * 10000^(-2i/d)입니다. 열 2i에는 그 사인이, 열 2i+1에는 코사인이 들어갑니다",
    "interleave the pairs: even columns sin, odd columns cos (not all sines, then all cosines)":
        "쌍을 번갈아 놓으세요. 짝수 열은 sin, 홀수 열은 cos입니다(사인을 모두 놓은 뒤 코사인을 모두 놓는 것이 아닙니다)",
    "even columns are sin and odd columns cos, not the other way round": "짝수 열이 sin, 홀수 열이 cos입니다. 그 반대가 아닙니다",
    "the exponent is 2i/d, where i counts the (sin, cos) pairs": "지수는 2i/d이며, 여기서 i는 (sin, cos) 쌍의 번호입니다",
    "shifts": "이동",
    "sin(a + b) = sin a cos b + cos a sin b and cos(a + b) = cos a cos b - sin a sin b, pair by pair":
        "쌍마다 sin(a + b) = sin a cos b + cos a sin b와 cos(a + b) = cos a cos b - sin a sin b를 쓰세요",
    "this rotates the other way (it maps PE(p) to PE(p - k)): transpose each 2x2 block":
        "이것은 반대 방향으로 회전합니다(PE(p)를 PE(p - k)로 보냅니다). 2x2 블록을 각각 전치하세요",
    "each (sin, cos) pair turns by its own angle w_i k, not by k": "(sin, cos) 쌍은 각각 k가 아니라 자기 각도 w_i k만큼 회전합니다",
    "the frequencies are w_i = 10000^(-2i/d), where i counts the pairs": "주파수는 w_i = 10000^(-2i/d)이며, 여기서 i는 쌍의 번호입니다",
    # transformer_block.py
    "inputs": "입력",
    "mean and variance over the last axis, keepdim=True": "평균과 분산은 마지막 축에 대해 keepdim=True로 구하세요",
    "normalise each position over its features (the last axis), not over the positions":
        "위치들에 걸쳐서가 아니라, 각 위치를 그 특징들(마지막 축)에 대해 정규화하세요",
    "layer norm uses the biased variance (unbiased=False, divide by d)": "층 정규화는 편향된 분산을 씁니다(unbiased=False, d로 나눕니다)",
    "eps goes inside the square root: (x - mean) / sqrt(var + eps)": "eps는 제곱근 안에 들어갑니다: (x - mean) / sqrt(var + eps)",
    "pre-norm (norm_first=True)": "사전 정규화 (norm_first=True)",
    "post-norm (norm_first=False)": "사후 정규화 (norm_first=False)",
    "two residual sub-layers: attention, then feed-forward": "잔차 연결이 있는 서브층 두 개입니다. 어텐션 다음에 피드포워드가 옵니다",
    "in pre-norm the residual stream carries the un-normalised x: x + attn(norm1(x))":
        "사전 정규화에서는 잔차 스트림이 정규화하지 않은 x를 나릅니다: x + attn(norm1(x))",
    "post-norm normalises the sum: norm1(x + attn(x))": "사후 정규화는 합을 정규화합니다: norm1(x + attn(x))",
    "norm_first=True is pre-norm (normalise the sub-layer's input), False is post-norm (normalise after the residual "
    "sum)":
        "norm_first=True는 사전 정규화(서브층의 입력을 정규화), False는 사후 정규화(잔차를 더한 뒤 정규화)입니다",
    "norm1 goes with the attention sub-layer, norm2 with the feed-forward one":
        "norm1은 어텐션 서브층에, norm2는 피드포워드 서브층에 씁니다",
    # transformer_training.py
    "steps around the warm-up": "워밍업 전후의 스텝",
    "d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)": "학습률은 d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)입니다",
    "the warm-up branch is step * warmup^-1.5": "워밍업 쪽 항은 step * warmup^-1.5입니다",
    "take the min of the two branches: rise, then decay": "두 항 중 작은 쪽(min)을 취하세요. 먼저 오르고, 그다음 감쇠합니다",
    "multiply by d_model^-0.5": "d_model^-0.5를 곱하세요",
    "batches of padded sources": "패딩된 소스의 배치",
    "self_mask: lower triangle (T, T); memory_mask: padding over the source keys, (B, 1, S)":
        "self_mask는 아래 삼각형 (T, T), memory_mask는 소스 키에 대한 패딩 (B, 1, S)입니다",
    "the causal diagonal is off by one: a target position may attend itself":
        "인과 마스크의 대각선이 한 칸 어긋났습니다. 타깃 위치는 자기 자신에게 어텐션할 수 있습니다",
    "the causal mask is inverted: True means 'may attend' (the past and the present)":
        "인과 마스크가 반대로 되어 있습니다. True는 '어텐션할 수 있음'(과거와 현재)을 뜻합니다",
    "the memory mask is inverted: True at the real source tokens": "메모리 마스크가 반대로 되어 있습니다. 실제 소스 토큰에서 True입니다",
    "padding applies to the keys (the source positions, the last axis), not to the queries: index the padding mask as "
    "[:, None, :]":
        "패딩은 쿼리가 아니라 키(소스 위치, 마지막 축)에 적용됩니다. 패딩 마스크를 [:, None, :]로 인덱싱하세요",
    # causal_convolution.py
    "against attnlab's ConvolutionLayer": "attnlab의 ConvolutionLayer와 비교",
    "(B, T, d) -> (B, d, T) for conv1d, pad (k - 1, 0), convolve, transpose back":
        "conv1d에 맞게 (B, T, d) -> (B, d, T)로 바꾸고, (k - 1, 0)으로 패딩하고, 합성곱한 뒤 다시 transpose하세요",
    "pad only on the left (k - 1 zeros), so that output t never sees input t + 1":
        "출력 t가 입력 t + 1을 절대 보지 않도록, 왼쪽에만 패딩하세요(0을 k - 1개)",
    "the k - 1 zeros go on the left (before the sequence), not on the right": "k - 1개의 0은 오른쪽이 아니라 왼쪽(시퀀스 앞)에 들어갑니다",
    "torch's convolution is a cross-correlation: do not flip the kernel": "torch의 합성곱은 교차 상관입니다. 커널을 뒤집지 마세요",
    "lengths and kernels": "길이와 커널",
    "L layers of kernel k see L (k - 1) + 1 positions": "커널 크기가 k인 층 L개는 L (k - 1) + 1개의 위치를 봅니다",
    "each layer adds k - 1 positions, not k": "층 하나가 더하는 위치는 k개가 아니라 k - 1개입니다",
    "round up: a layer that covers part of the distance is still needed": "올림하세요. 거리의 일부만 메우는 층도 하나 더 필요합니다",
    "the last output already sees itself: the distance to cover is length - 1":
        "마지막 출력은 이미 자기 자신을 봅니다. 메워야 할 거리는 length - 1입니다",
    # image_self_attention.py
    "at initialisation": "초기화 직후",
    "gamma = nn.Parameter(torch.zeros(1))": "gamma = nn.Parameter(torch.zeros(1))로 두세요",
    "with attnlab's weights copied in": "attnlab의 가중치를 복사해 넣은 경우",
    "flatten the pixels (B, HW, c), attend, reshape back to (B, C // 8, H, W), then out, y = gamma * out(m) + x":
        "픽셀을 펼치고(B, HW, c), 어텐션한 뒤, (B, C // 8, H, W)로 다시 reshape하고 out을 적용하세요: y = gamma * out(m) + x",
    "the residual is missing: y = gamma * out(m) + x": "잔차가 빠졌습니다: y = gamma * out(m) + x",
    "gamma starts at 0, so that a new block is exactly the identity": "gamma는 0에서 시작합니다. 그래야 새 블록이 정확히 항등 함수가 됩니다",
    "softmax over the wrong axis: pixel i's weights run over the pixels j it looks at":
        "소프트맥스의 축이 틀렸습니다. 픽셀 i의 가중치는 그 픽셀이 바라보는 픽셀 j들에 걸쳐 있습니다",
    "SAGAN's scores are plain dot products, without 1/sqrt(d)": "SAGAN의 점수는 1/sqrt(d)가 없는 평범한 내적입니다",
    "feature maps": "특징 맵",
    "dot products of the pixel's query with every key, softmax over all H W of them, reshape":
        "그 픽셀의 쿼리와 모든 키의 내적을 구하고, H W개 전체에 대해 소프트맥스를 취한 뒤 reshape하세요",
    "the query comes from `queries` at (row, col); the keys are every pixel of `keys`":
        "쿼리는 `queries`의 (row, col)에서 가져오고, 키는 `keys`의 모든 픽셀입니다",
    "in raster order pixel (r, c) is index r * W + c": "래스터 순서에서 픽셀 (r, c)의 인덱스는 r * W + c입니다",
    "the map has the image's shape (H, W): rows first": "맵은 이미지와 같은 모양 (H, W)입니다. 행이 먼저 옵니다",
    # local_attention.py
    "lengths and blocks": "길이와 블록",
    "compare the block indices i // b and j // b, and keep j <= i": "블록 인덱스 i // b와 j // b를 비교하고, j <= i 조건도 지키세요",
    "inside its memory a query still sees only earlier keys (j <= i)": "메모리 안에서도 쿼리는 여전히 앞선 키(j <= i)만 봅니다",
    "a query also sees the block before its own": "쿼리는 자기 블록 바로 앞의 블록도 봅니다",
    "blocks are fixed, [0, b), [b, 2b), ...: key j is in block j // b (not a sliding window around i)":
        "블록은 [0, b), [b, 2b), ...로 고정되어 있습니다. 키 j는 블록 j // b에 속합니다(i를 중심으로 움직이는 창이 아닙니다)",
    "images and blocks": "이미지와 블록",
    "row and column of every pixel: r = index // W, c = index % W": "각 픽셀의 행과 열은 r = index // W, c = index % W입니다",
    "a pixel may attend only pixels that come no later in raster order": "픽셀은 래스터 순서에서 자기보다 늦지 않은 픽셀에만 어텐션할 수 있습니다",
    "the memory extends w_m columns to both sides of the query block": "메모리는 쿼리 블록의 좌우 양쪽으로 w_m개 열씩 뻗어 있습니다",
    "the memory belongs to the query block (R, C), shared by all its pixels, not to each pixel":
        "메모리는 각 픽셀이 아니라 쿼리 블록 (R, C)에 속하며, 블록의 모든 픽셀이 공유합니다",
    # relative_attention.py
    "relative logits": "상대 로짓",
    "pad one zero column on the left -> (L, L + 1); reshape -> (L + 1, L); drop the first row":
        "왼쪽에 0인 열 하나를 덧대고 -> (L, L + 1), reshape하고 -> (L + 1, L), 첫 행을 버리세요",
    "pad the zero column on the left, before distance -(L - 1)": "0인 열은 왼쪽, 즉 거리 -(L - 1)의 앞에 덧대세요",
    "after the reshape to (L + 1, L), drop the first row": "(L + 1, L)로 reshape한 뒤에는 첫 행을 버리세요",
    "this is the relative logits unchanged: the skew moves row i left by L - 1 - i":
        "상대 로짓이 바뀌지 않은 그대로입니다. 스큐잉은 행 i를 왼쪽으로 L - 1 - i만큼 옮깁니다",
    "heads and lengths": "헤드와 길이",
    "slopes 2^(-8 (h + 1) / H); bias = -slope * (i - j), -inf above the diagonal":
        "기울기는 2^(-8 (h + 1) / H), 편향은 bias = -slope * (i - j)이며, 대각선 위는 -inf입니다",
    "the bias penalises distance: it must be <= 0 on and below the diagonal":
        "편향은 거리에 패널티를 줍니다. 대각선과 그 아래에서 <= 0이어야 합니다",
    "future keys (j > i) must be -inf, so that the bias is also the causal mask":
        "미래의 키(j > i)는 -inf여야 합니다. 그래야 편향이 인과 마스크 역할도 합니다",
    "head 0 gets the largest slope, 2^(-8/H); the slopes then shrink geometrically":
        "헤드 0이 가장 큰 기울기 2^(-8/H)를 받고, 그 뒤로 기울기는 등비적으로 줄어듭니다",
    # pretrained_analysis.py
    "one padded sentence": "패딩된 문장 하나",
    "sum hidden * mask over T, divide by mask.sum over T": "hidden * mask를 T에 대해 합하고, T에 대한 mask.sum으로 나누세요",
    "a batch": "배치",
    "per-sentence counts": "개수는 문장마다 따로 셉니다",
    "an empty sequence": "빈 시퀀스",
    "a sequence without real tokens gives a zero vector": "실제 토큰이 없는 시퀀스는 0 벡터가 됩니다",
    "the padded positions were averaged too: use attention_mask": "패딩된 위치까지 평균했습니다. attention_mask를 쓰세요",
    "divide by the number of real tokens of each sequence, not by T": "T가 아니라 각 시퀀스의 실제 토큰 수로 나누세요",
    "a sequence without real tokens gives NaN (0 / 0): clamp the count to at least a tiny number":
        "실제 토큰이 없는 시퀀스에서 NaN(0 / 0)이 나옵니다. 개수가 적어도 아주 작은 수가 되도록 clamp하세요",
    "toy losses": "장난감 손실",
    "one call with every head on, then one call per head with only that head off":
        "모든 헤드를 켜고 한 번 호출한 다음, 헤드마다 그 헤드만 끄고 한 번씩 호출하세요",
    "ablate one head at a time: all heads on except (l, h), not only (l, h) on":
        "헤드를 한 번에 하나씩 끄세요. (l, h)만 켜는 것이 아니라, (l, h)를 뺀 모든 헤드를 켭니다",
    "importance is the loss with the head off minus the loss with every head on":
        "중요도는 그 헤드를 끈 손실에서 모든 헤드를 켠 손실을 뺀 값입니다",
    "switch the previous head back on: each ablation starts from all ones":
        "방금 끈 헤드를 다시 켜세요. 제거 실험은 매번 모두 1인 마스크에서 시작합니다",
}
