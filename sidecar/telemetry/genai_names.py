"""GenAI semantic-convention attribute names, in one place.

The default set is semantic-conventions v1.41 (the last GenAI release inside the main
repository). Names only in the newer GenAI repository are marked ``LATEST_*`` and are emitted
only when ``OTEL_SEMCONV_STABILITY_OPT_IN`` contains ``gen_ai_latest_experimental``. The names
the OTLP receiver reads (older spellings, OpenLLMetry, OpenLIT, OpenInference) are in
:data:`sidecar.events.otlp_map.SOURCES`.
"""

from __future__ import annotations

OPERATION_NAME = "gen_ai.operation.name"
PROVIDER_NAME = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_ID = "gen_ai.response.id"
RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
CONVERSATION_ID = "gen_ai.conversation.id"
AGENT_NAME = "gen_ai.agent.name"
AGENT_ID = "gen_ai.agent.id"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_TYPE = "gen_ai.tool.type"
ERROR_TYPE = "error.type"
SERVER_ADDRESS = "server.address"

# Sensitive content, opt-in only (capture_content).
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT = "gen_ai.tool.call.result"

# Newer names, behind the opt-in.
LATEST_REQUEST_STREAM = "gen_ai.request.stream"
LATEST_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
LATEST_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
LATEST_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"

# Sidecar-specific span attributes (not GenAI conventions, namespaced to avoid clashes).
SIDECAR_REQUEST_ID = "agent_sidecar.request_id"
SIDECAR_EVENT_ID = "agent_sidecar.event_id"
SIDECAR_COST_USD = "agent_sidecar.cost_usd"
SIDECAR_USAGE_UNKNOWN = "agent_sidecar.usage_unknown"
# Set by an instrumented agent on its chat span after POST /v1/admit, so the span settles it.
SIDECAR_RESERVATION_ID = "agent_sidecar.reservation_id"

# Operation names.
OP_CHAT = "chat"
OP_EXECUTE_TOOL = "execute_tool"
OP_INVOKE_AGENT = "invoke_agent"
LLM_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "embeddings"})
