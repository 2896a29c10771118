import asyncio

from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.messages import ModelRequest, ModelResponse, TextPart, ToolCallPart, ToolReturnPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall

from apps.agents.offline.rules import (
    RuleEngine,
    ToolResult,
    TurnView,
    call_tool,
    call_tools,
    final_output,
    last_user_text,
    reply,
    rule_model,
    stream_response,
    tool_calls,
    tool_results,
    user_texts,
)

HISTORY = [
    ModelRequest(parts=[UserPromptPart(content="where is my order?")]),
    ModelResponse(parts=[TextPart(content="Which order?")]),
    ModelRequest(parts=[UserPromptPart(content="TW-100234")]),
    ModelResponse(parts=[ToolCallPart(tool_name="track_order", args={"number": "TW-100234"}, tool_call_id="c1")]),
    ModelRequest(
        parts=[ToolReturnPart(tool_name="track_order", content='{"status": "in_transit"}', tool_call_id="c1")]
    ),
]


def _info(*tools: str) -> AgentInfo:
    from pydantic_ai.models import ModelRequestParameters
    from pydantic_ai.tools import ToolDefinition

    return AgentInfo(
        function_tools=[ToolDefinition(name=t) for t in tools],
        allow_text_output=True,
        output_tools=[],
        model_settings=None,
        model_request_parameters=ModelRequestParameters(),
        instructions=None,
    )


def test_readers_find_user_texts_calls_and_results():
    # when / then
    assert user_texts(HISTORY) == ["where is my order?", "TW-100234"]
    assert last_user_text(HISTORY) == "TW-100234"
    assert [(c.tool_name, c.args) for c in tool_calls(HISTORY)] == [("track_order", {"number": "TW-100234"})]
    assert tool_results(HISTORY) == [ToolResult("track_order", {"status": "in_transit"}, "c1", "success")]


def test_tool_results_since_user_excludes_earlier_messages():
    # given a new customer message after the tool result
    history = [*HISTORY, ModelResponse(parts=[TextPart("It is in transit.")])]
    history.append(ModelRequest(parts=[UserPromptPart(content="thanks")]))

    # then nothing since the last message, but everything over the whole history
    assert tool_results(history) == []
    assert len(tool_results(history, since_user=False)) == 1


def test_turn_view_slots_fall_back_to_earlier_customer_messages():
    # given the order number two messages ago and a reason now
    history = [*HISTORY, ModelResponse(parts=[TextPart("It is in transit.")])]
    history.append(ModelRequest(parts=[UserPromptPart(content="actually it came broken, I want to return 2")]))

    # when
    view = TurnView(history, _info("track_order"))

    # then
    assert view.order_number == "TW-100234"
    assert view.return_reason == "damaged"
    assert view.quantity == 2
    assert view.confirmation is None
    assert view.result("track_order") is None
    assert view.result("track_order", since_user=False) == {"status": "in_transit"}
    assert view.item(["Ceramic Mug (Blue)", "Oak Side Table"]) is None


def test_response_builders():
    assert reply("hi").parts == [TextPart(content="hi")]
    part = call_tool("track_order", number="TW-1").parts[0]
    assert (part.tool_name, part.args) == ("track_order", {"number": "TW-1"})
    parts = call_tools(("a", {"x": 1}), ("b", {})).parts
    assert [(p.tool_name, p.args) for p in parts] == [("a", {"x": 1}), ("b", {})]
    assert final_output(_info(), {"route": "faq"}).parts == [TextPart(content='{"route": "faq"}')]


def test_rule_engine_never_calls_an_unoffered_tool_and_never_repeats_a_call():
    # given rules asking for an unknown tool, then repeating the call already made
    engine = RuleEngine(
        [
            lambda view: call_tool("refund_everything"),
            lambda view: call_tool("track_order", number="TW-100234"),
        ],
        fallback=lambda view: reply("fallback"),
    )

    # when
    response = engine(HISTORY, _info("track_order"))

    # then both were skipped and the fallback answered
    assert response.parts == [TextPart(content="fallback")]


def _order_engine() -> RuleEngine:
    def track(view: TurnView):
        if not view.has_tool("track_order"):
            return None
        result = view.result("track_order")
        if result is not None:
            return reply(f"Order {result['number']} is {result['status'].replace('_', ' ')}.")
        if view.order_number is None:
            return reply("Which order is it? The number looks like TW-100234.")
        return call_tool("track_order", number=view.order_number)

    return RuleEngine([track], fallback=lambda view: reply("How can I help?"), name="order")


def _agent() -> tuple[Agent, list[str]]:
    agent = Agent(rule_model(_order_engine()))
    looked_up: list[str] = []

    @agent.tool_plain
    def track_order(number: str) -> dict:
        looked_up.append(number)
        return {"number": number, "status": "in_transit"}

    return agent, looked_up


def test_rule_engine_asks_for_what_is_missing_then_calls_the_tool_and_replies_from_its_result():
    # given an agent on the local rule model
    agent, looked_up = _agent()

    # when the customer gives no order number
    first = agent.run_sync("where is my order")

    # then it asks instead of guessing and calls nothing
    assert first.output == "Which order is it? The number looks like TW-100234."
    assert looked_up == []

    # when the customer answers with a tolerant variant
    second = agent.run_sync("tw 100234", message_history=first.all_messages())

    # then the tool ran once with the canonical number and the reply is written from its result
    assert looked_up == ["TW-100234"]
    assert second.output == "Order TW-100234 is in transit."


def test_rule_model_streams_the_same_reply():
    # given
    agent, looked_up = _agent()

    # when
    async def run() -> str:
        async with agent.run_stream("where is TW-100555?") as stream:
            return await stream.get_output()

    # then
    assert asyncio.run(run()) == "Order TW-100555 is in transit."
    assert looked_up == ["TW-100555"]


def test_stream_response_yields_words_or_one_tool_call_delta():
    async def collect(response: ModelResponse) -> list:
        return [chunk async for chunk in stream_response(response)]

    assert asyncio.run(collect(reply("It is on its way."))) == ["It ", "is ", "on ", "its ", "way."]
    call = call_tool("track_order", number="TW-1")
    call_id = call.parts[0].tool_call_id
    assert asyncio.run(collect(call)) == [
        {0: DeltaToolCall(name="track_order", json_args='{"number": "TW-1"}', tool_call_id=call_id)}
    ]


class _Answer(BaseModel):
    route: str
    confidence: float


def test_final_output_fills_a_structured_output_type():
    # given an agent with structured output on a rule model
    engine = RuleEngine([], fallback=lambda view: final_output(view.info, {"route": "faq", "confidence": 0.5}))
    agent = Agent(rule_model(engine), output_type=_Answer)

    # when / then
    assert agent.run_sync("hello").output == _Answer(route="faq", confidence=0.5)
