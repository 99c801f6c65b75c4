package io.stoker.llm.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face chat template (Jinja, from {@code tokenizer_config.json} or GGUF {@code tokenizer.chat_template})
 * rendered with Jinjava. Variables: {@code messages} (list of {@code {role, content}}), {@code bos_token},
 * {@code eos_token}, {@code add_generation_prompt}; function {@code raise_exception(msg)}.
 *
 * <p>Thread-safety: rendering is thread-safe (one Jinjava instance, no shared mutable state).
 */
public final class ChatTemplate {
    /** One chat message. */
    public record Message(String role, String content) {
    }

    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    public ChatTemplate(String template, String bosToken, String eosToken) {
        this.template = template;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(false).withLstripBlocks(false)
                .withFailOnUnknownTokens(false).build());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatTemplate.class, "raiseException", String.class));
    }

    /** Called by templates as {@code raise_exception(msg)}. */
    public static String raiseException(String message) {
        throw new IllegalArgumentException("chat template rejected the conversation: " + message);
    }

    public String template() {
        return template;
    }

    /** @return the BOS token text the template sees as {@code bos_token} ("" when none) */
    public String bosToken() {
        return bosToken;
    }

    /** @return the EOS token text the template sees as {@code eos_token} ("" when none) */
    public String eosToken() {
        return eosToken;
    }

    /**
     * @throws IllegalArgumentException when the template fails to render (names the template error)
     */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> msgs = new ArrayList<>();
        for (Message m : messages) {
            Map<String, Object> mm = new HashMap<>();
            mm.put("role", m.role());
            mm.put("content", m.content());
            msgs.add(mm);
        }
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", msgs);
        ctx.put("bos_token", bosToken);
        ctx.put("eos_token", eosToken);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        RenderResult r = jinjava.renderForResult(template, ctx);
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                String msg = e.getMessage();
                for (Throwable c = e.getException(); c != null; c = c.getCause()) {
                    if (c instanceof IllegalArgumentException && c.getMessage() != null
                            && c.getMessage().startsWith("chat template rejected")) {
                        msg = c.getMessage();
                        break;
                    }
                }
                throw new IllegalArgumentException("chat template failed to render at line " + e.getLineno() + ": "
                        + msg);
            }
        }
        return r.getOutput();
    }
}
